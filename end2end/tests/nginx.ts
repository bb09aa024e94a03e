// A build served as a CDN serves it: the dist (VIGIE_CDN_DIST, built for
// VIGIE_CDN_PUBLIC_URL) copied under its path, its config.json written for
// this run, the headers written by `vigie-server cdn-files` for the origins
// given, and a real nginx on a free loopback port including the `location`
// block those files came with.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from '@playwright/test';

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`cargo xtask test\``);
  return value;
}

export const PREFIX = process.env.VIGIE_CDN_PUBLIC_URL ?? '/tools/vigie/';

export interface CdnSite {
  /** `config.json` as the deployment writes it. */
  config: Record<string, unknown>;
  /** `--connect-src` of `cdn-files`: the API's origin. */
  connectSrc: string;
  /** `--frame-ancestors` of `cdn-files`: the portals. */
  frameAncestors?: string[];
}

export interface Nginx {
  stop(): Promise<void>;
}

/** Serves the CDN build on `origin` (`http://127.0.0.1:<port>`) until `stop`. */
export async function serveCdn(origin: string, site: CdnSite): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-e2e-cdn-'));
  // nginx's workers may run as another user: the tree is world-readable.
  execFileSync('chmod', ['755', dir]);
  const root = join(dir, 'www', ...PREFIX.split('/').filter(Boolean));
  mkdirSync(root, { recursive: true });
  cpSync(required('VIGIE_CDN_DIST'), root, { recursive: true });
  // One build, any environment: only config.json says where the API is.
  writeFileSync(join(root, 'config.json'), JSON.stringify(site.config));
  const args = ['cdn-files', '--dist', root, '--public-url', PREFIX, '--connect-src', site.connectSrc];
  if (site.frameAncestors?.length) args.push('--frame-ancestors', site.frameAncestors.join(','));
  execFileSync(required('VIGIE_SERVER_BIN'), args);
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  const block = readFileSync(join(root, 'nginx.conf'), 'utf8').replace(/root \/srv\/www;/, `root ${join(dir, 'www')};`);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${new URL(origin).port};
${block}
  }
}
`,
  );
  const nginx: ChildProcess = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await expect
    .poll(async () => (await fetch(`${origin}${PREFIX}`).catch(() => undefined))?.status, { timeout: 10_000 })
    .toBe(200);
  return {
    async stop() {
      nginx.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        if (nginx.exitCode !== null || nginx.signalCode !== null) resolve();
        else nginx.once('exit', () => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
