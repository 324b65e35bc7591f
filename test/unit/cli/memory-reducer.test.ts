import { v8NeedsReducerNudge } from '../../../src/cli/memory-reducer';

describe('which V8 needs the memory reducer nudged', () => {
  it('is 13.1 and later: Node 24 (13.6), Node 26 (14.6)', () => {
    expect(['13.1.201.8', '13.6.233.17', '14.6.202.26', '15.0.1'].map(v8NeedsReducerNudge)).toEqual([true, true, true, true]);
  });

  it('is not V8 13.0 or 12 and older: Node 20 (11.3), Node 22 (12.4)', () => {
    expect(['13.0.245.25', '12.4.254.21', '11.3.244.8-node.19', ''].map(v8NeedsReducerNudge)).toEqual([false, false, false, false]);
  });
});
