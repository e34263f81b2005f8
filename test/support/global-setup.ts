import type { TestProject } from 'vitest/node';
import { startMariaDb } from './mariadb-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mariadb: { url: string; port: number; socket: string; user: string; password: string };
  }
}

/** One private MariaDB for the whole run; each test file makes its own databases in it. A missing server fails the run. */
export default async function setup(project: TestProject) {
  const server = await startMariaDb();
  project.provide('mariadb', {
    url: server.url(),
    port: server.port,
    socket: server.socket,
    user: server.user,
    password: server.password,
  });
  return async () => {
    await server.stop();
  };
}
