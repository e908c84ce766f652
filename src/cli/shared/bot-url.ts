// Where a running `btcbot run` listens, from the same environment (HTTP_HOST, HTTP_PORT): for the
// commands that ask it (`btcbot health`, `btcbot status`) inside its container.

/** http://host:port of the bot; a wildcard host (0.0.0.0, ::) is reached on loopback. */
export function botUrl(env: NodeJS.ProcessEnv): string {
  const host = !env.HTTP_HOST || env.HTTP_HOST === '0.0.0.0' || env.HTTP_HOST === '::' ? '127.0.0.1' : env.HTTP_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${env.HTTP_PORT || 8080}`;
}
