import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceSettings } from '../src/intake-process';

const afterTestCleanup: Array<() => void> = [];
afterAll(() => afterTestCleanup.forEach((f) => f()));

describe('serviceSettings (infra/services.txt, as ./gelombang start reads it)', () => {
  it("gives a started intake the local cluster's settings: API and projector split, the API's young generation capped", () => {
    expect(serviceSettings('intake')).toEqual({ CONSUMER_ENABLED: 'false', NODE_OPTIONS: '--max-semi-space-size=16' });
    expect(serviceSettings('intake-projector')).toEqual({ CONSUMER_ENABLED: 'true' });
  });

  it('reads KEY=VALUE words after name, port and entry; skips comments; refuses other words and unknown names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'services-'));
    afterTestCleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'services.txt');
    writeFileSync(
      file,
      [
        '# name port entry settings',
        '#intake 1 x.js A=commented',
        'plain    3000  a/server.js',
        'withargs 3001  b/server.js   A=1 B=x=y  C=',
        'broken   3002  c/server.js   A=1 oops',
      ].join('\n'),
    );
    expect(serviceSettings('plain', file)).toEqual({});
    expect(serviceSettings('withargs', file)).toEqual({ A: '1', B: 'x=y', C: '' });
    expect(() => serviceSettings('broken', file)).toThrow('"oops" is not KEY=VALUE');
    expect(() => serviceSettings('intake', file)).toThrow('no process named intake');
  });
});
