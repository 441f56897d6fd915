/**
 * Bundle creation (SPEC §2 POST /v1/bundles): everything the server can
 * check without plaintext is checked before anything is stored.
 */
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { Errors, domainError } from '../errors.js';
import { manifestHash, validateKeyWrap, validateManifest, verifyManifestSignature, type Problem } from '../envelope/index.js';
import { currentJurisdictionKey } from '../jurisdictions/repository.js';
import { findOfficerKeyByPublicKey } from '../officers/repository.js';
import { canonicalBytes } from '../shared/jcs.js';
import { decodeBase64 } from '../shared/encoding.js';
import { insertBundle } from './repository.js';

function invalid(where: string, problems: Problem[]): Error {
  const errors = problems.map((p) => ({ location: `body/${where}${p.path}`, message: p.message }));
  const first = errors[0];
  return Errors.validationFailed(first ? `${first.location} ${first.message}` : `body/${where} is invalid`, { errors });
}

export interface CreateBundleInput {
  manifest: unknown;
  signature: string;
  keyWraps: unknown[];
}

export async function createBundle(app: FastifyInstance, principal: Principal, body: CreateBundleInput, id: string): Promise<{ id: string; status: 'open'; files: Array<{ n: number; cipherSize: number; received: number }> }> {
  if (principal.jurisdiction === null) throw Errors.forbidden('bundles belong to a jurisdiction; the platform operator cannot create one');
  const owner = principal.jurisdiction;

  const checked = validateManifest(body.manifest);
  if (!checked.ok) throw invalid('manifest', checked.problems);
  const manifest = checked.value;

  // The signer must be the caller, with a key registered to the caller.
  if (manifest.signer.jurisdiction !== owner || manifest.signer.sub !== principal.sub) {
    throw domainError('signer_not_caller', `the manifest must be signed by the caller (${owner}/${principal.sub}), not ${manifest.signer.jurisdiction}/${manifest.signer.sub}`, { problem: 'signer_not_caller' });
  }
  const signerKey = await findOfficerKeyByPublicKey(app.db, decodeBase64(manifest.signer.publicKey, 32)!);
  if (!signerKey || signerKey.issuer !== principal.issuer || signerKey.sub !== principal.sub || signerKey.jurisdiction !== owner) {
    throw domainError('signer_key_not_registered', 'manifest.signer.publicKey is not a signing key registered to you (POST /v1/officers/me/keys)', { problem: 'signer_key_not_registered' });
  }
  if (!decodeBase64(body.signature, 64) || !verifyManifestSignature(manifest, body.signature, decodeBase64(signerKey.publicKey, 32)!)) {
    throw domainError('manifest_signature_invalid', 'the signature does not verify over the canonical (RFC 8785) manifest with the signer key', { problem: 'manifest_signature_invalid' });
  }

  // Exactly one wrap, for the owner, under its current key version; wraps for others come only with releases.
  const wraps = body.keyWraps.map((w, i) => {
    const v = validateKeyWrap(w);
    if (!v.ok) throw invalid(`keyWraps/${i}`, v.problems);
    return v.value;
  });
  const ownerWrap = wraps.find((w) => w.jurisdiction === owner);
  if (!ownerWrap) throw domainError('owner_key_wrap_missing', `keyWraps must contain the wrap for the owner jurisdiction ${owner}; wraps for other jurisdictions are added by releases`, { problem: 'owner_key_wrap_missing' });
  const current = await currentJurisdictionKey(app.db, owner);
  if (!current) throw domainError('jurisdiction_has_no_key', `jurisdiction ${owner} has no box key yet (PUT /v1/jurisdictions/${owner}/keys)`, { problem: 'jurisdiction_has_no_key' });
  if (ownerWrap.keyVersion !== current.keyVersion) {
    throw domainError('key_version_not_current', `the owner key wrap uses key version ${ownerWrap.keyVersion}; the current version of ${owner} is ${current.keyVersion}`, { problem: 'key_version_not_current' });
  }

  const manifestBytes = canonicalBytes(manifest);
  const manifestSha256 = manifestHash(manifest);
  const files = manifest.files.map((f, n) => ({ n, cipherSize: f.cipherSize, cipherSha256: f.cipherSha256 }));
  await app.custody.run(async (tx) => {
    await insertBundle(tx, {
      id,
      ownerJurisdiction: owner,
      manifestBytes,
      manifestSha256,
      signature: body.signature,
      signerKeyId: signerKey.keyId,
      uploader: { issuer: principal.issuer, sub: principal.sub },
      crimeCategory: manifest.crimeCategory,
      classification: manifest.classification,
      files,
      ownerWrap,
    });
    // Hashes, sizes and ids only: no file names or case text in the log.
    app.custody.append(tx, {
      type: 'bundle.created',
      actor: principal,
      subject: `bundle:${id}`,
      data: {
        owner,
        manifestSha256,
        crimeCategory: manifest.crimeCategory,
        classification: manifest.classification,
        signerKeyId: signerKey.keyId,
        ownerKeyVersion: ownerWrap.keyVersion,
        files: files.map((f) => ({ n: f.n, cipherSize: f.cipherSize, cipherSha256: f.cipherSha256 })),
      },
    });
  });
  return { id, status: 'open', files: files.map((f) => ({ n: f.n, cipherSize: f.cipherSize, received: 0 })) };
}
