import type express from 'express';

/**
 * Express 4 (the `express4` alias of express@4), typed with Express 5's types: the surface
 * the tests use (`use`, `get`, `post`, the body parsers, `listen`) is the same in both.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const express4 = require('express4') as typeof express;
