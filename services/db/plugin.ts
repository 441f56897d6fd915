/** The database as a fastify decoration: one pool per app, closed with the app. */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import { createDb, type Db } from './connect.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    /** True when the database answers a trivial query. */
    databaseReady(): Promise<boolean>;
  }
}

export interface DatabasePluginOptions {
  connectionString: string;
  poolSize: number;
}

async function databasePlugin(app: FastifyInstance, options: DatabasePluginOptions): Promise<void> {
  const { db } = createDb(options.connectionString, options.poolSize);
  app.decorate('db', db);
  app.decorate('databaseReady', async () => {
    try {
      await sql`SELECT 1`.execute(db);
      return true;
    } catch {
      return false;
    }
  });
  app.addHook('onClose', async () => {
    await db.destroy();
  });
}

export default fp(databasePlugin, { name: 'evx-database', fastify: '5.x' });
