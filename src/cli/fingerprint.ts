import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fingerprintOfPem } from '../protocol/fingerprint';
import { parseCommandArgs, UsageError } from './args';
import { EXIT, type CliIo } from './io';

export const FINGERPRINT_USAGE = `Usage: cryptid-gateway fingerprint CERT.pem

Prints the certificate_fingerprint of the first (leaf) certificate in a PEM file:
sha256: followed by the SHA-256 of its DER encoding in lower-case hex.
Exit codes: 0 printed, 2 unreadable or not a certificate.
`;

/** `cryptid-gateway fingerprint CERT.pem`. */
export async function fingerprintCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(FINGERPRINT_USAGE);
    return EXIT.ok;
  }
  const [file, extra] = positionals;
  if (file === undefined) throw new UsageError('missing CERT.pem');
  if (extra !== undefined) throw new UsageError(`unexpected argument: ${extra}`);
  let pem: Buffer;
  try {
    pem = readFileSync(resolvePath(io.cwd, file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.stderr.write(`${file}: ${code === 'ENOENT' ? 'no such file' : 'cannot be read'}\n`);
    return EXIT.error;
  }
  try {
    io.stdout.write(`${fingerprintOfPem(pem)}\n`);
    return EXIT.ok;
  } catch {
    io.stderr.write(`${file}: not a PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block)\n`);
    return EXIT.error;
  }
}
