/**
 * `evx keygen`: an officer's Ed25519 signing key and/or a jurisdiction's
 * X25519 box key, written 0600; prints the public halves, which are what
 * gets registered with the server.
 */
import type { Command } from '../context.js';
import { generateBoxKeyFile, generateSigningKeyFile } from '../key-files.js';

export const keygen: Command = {
  path: ['keygen'],
  summary: 'create a signing key and/or a box key (files with mode 0600) and print their public halves',
  usage: 'keygen [--signing-key FILE] [--box-key FILE] [--force]',
  details: [
    'With --signing-key and/or --box-key, creates exactly the keys named. With neither, creates both at the configured',
    'paths (EVX_SIGNING_KEY / EVX_BOX_KEY / the profile) or the defaults ~/.config/evx/signing-key.json and box-key.json.',
    'The signing key is personal (it signs manifests, agreements and receipts); the box key belongs to a jurisdiction',
    '(bundle keys are wrapped for it) and is created once by whoever keeps it, then registered with evx register box-key.',
    'Existing files are never replaced without --force.',
  ],
  options: {
    force: { type: 'boolean', help: 'replace existing key files' },
  },
  positionals: { min: 0, max: 0 },
  examples: ['evx keygen --signing-key ~/.config/evx/signing-key.json', 'evx keygen --box-key ./nl-box-key.json'],
  async run(ctx) {
    const explicitSigning = ctx.flags.string('signing-key') !== undefined;
    const explicitBox = ctx.flags.string('box-key') !== undefined;
    const both = !explicitSigning && !explicitBox;
    const force = ctx.flags.bool('force');
    const result: { signingKey?: { file: string; publicKey: string }; boxKey?: { file: string; publicKey: string } } = {};
    if (both || explicitSigning) {
      const file = ctx.settings.signingKeyPath().value;
      const publicKey = generateSigningKeyFile(file, force);
      result.signingKey = { file, publicKey };
      ctx.info(`signing key written to ${file} (mode 600); register it with: evx register officer-key`);
      ctx.out(`signing public key: ${publicKey}`);
    }
    if (both || explicitBox) {
      const file = ctx.settings.boxKeyPath().value;
      const publicKey = generateBoxKeyFile(file, force);
      result.boxKey = { file, publicKey };
      ctx.info(`box key written to ${file} (mode 600); register it with: evx register box-key CODE`);
      ctx.out(`box public key: ${publicKey}`);
    }
    ctx.outJson(result);
  },
};
