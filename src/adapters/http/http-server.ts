// The HTTP endpoints' server: a Hono app on Node's http server. Listening errors become a clear
// message (a port in use is the common one); close() stops accepting and ends idle keep-alive
// connections so a stopping process is not held open by a scraper.
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../config/config-error.js';

export interface HttpServer {
  /** http://host:port, with the port actually bound (port 0 picks a free one). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(app: Hono, host: string, port: number): Promise<HttpServer> {
  // overrideGlobalObjects: false keeps Node's own Request/Response for everything else (ccxt's fetch).
  const server = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (another btcbot?): set HTTP_PORT (or http.port) to a free port`
          : error.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine: set HTTP_HOST (or http.host) to 127.0.0.1, or 0.0.0.0 in a container`
            : `${error.message}: check HTTP_HOST and HTTP_PORT`;
      reject(new ConfigError(`cannot serve /health and /metrics: ${why}`));
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
