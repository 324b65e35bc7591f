'use strict';
// A self-signed EC certificate for the HTTPS targets, made by openssl as in test/helpers/certs.ts.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function makeCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cryptid-bench-cert-'));
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { dir, cert, key, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

module.exports = { makeCert };
