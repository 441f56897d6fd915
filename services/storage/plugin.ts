/** The blob store as a fastify decoration (`app.blobs`). */
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    blobs: BlobStore;
  }
}

async function storagePlugin(app: FastifyInstance, options: { blobDir: string }): Promise<void> {
  mkdirSync(options.blobDir, { recursive: true, mode: 0o700 });
  app.decorate('blobs', new FsBlobStore(options.blobDir));
}

export default fp(storagePlugin, { name: 'evx-storage', fastify: '5.x' });
