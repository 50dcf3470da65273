import { createWriteStream, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import yazl from 'yazl';

/**
 * A Serverless Framework plugin: each function's zip (package.individually) holds its handler's
 * bundle, built with esbuild from the handler's module (its service's composition, so only the
 * clients that service uses), minified, with code splitting: what the handler reaches only by a
 * dynamic import (a CA backend's client the configuration may never name, the SDK's credential
 * providers Lambda does not use) is a chunk of its own, read from disk only when first needed, so
 * a cold start compiles only what it runs. Source maps are written beside the bundle in the
 * build folder (`.esbuild/<handler module>/`) and left out of the zip.
 *
 * Options come from custom.esbuild in serverless.yml (target, minify, define, banner). A function's
 * `assets` (project-relative file paths: the dashboard's page and libraries) go into its zip at
 * the same paths, where the handler reads them under LAMBDA_TASK_ROOT.
 */
export default class BundleFunctions {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineFunctionProperties('aws', {
      properties: { assets: { type: 'array', items: { type: 'string', minLength: 1 } } },
    });
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.bundleAll(),
      'before:deploy:function:packageFunction': () => this.bundleAll(),
    };
  }

  async bundleAll() {
    const { service, serviceDir } = this.serverless;
    const options = service.custom?.esbuild ?? {};
    const buildRoot = join(serviceDir, '.esbuild');
    const zips = join(serviceDir, '.serverless');
    mkdirSync(zips, { recursive: true });
    // Functions of one service share their handler's module: it is bundled once.
    const built = new Map();
    for (const [name, fn] of Object.entries(service.functions)) {
      const module = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
      let outdir = built.get(module);
      if (!outdir) {
        outdir = join(buildRoot, module.replaceAll('/', '-'));
        rmSync(outdir, { recursive: true, force: true });
        await bundleHandler({ [module]: join(serviceDir, `${module}.ts`) }, outdir, options);
        built.set(module, outdir);
      }
      const artifact = join(zips, `${name}.zip`);
      await zipFolder(outdir, artifact, (file) => !file.endsWith('.map'), (fn.assets ?? []).map((asset) => [join(serviceDir, asset), asset]));
      fn.package = { ...fn.package, artifact: relative(serviceDir, artifact) };
    }
  }
}

/**
 * Builds `entryPoints` ({ output path without extension: source }) into `outdir` as a function's
 * bundle: ESM (.mjs), split into chunks under chunks/, source maps beside.
 * @param {Record<string, string>} entryPoints
 * @param {string} outdir
 * @param {{ target?: string; minify?: boolean; define?: Record<string, string>; banner?: Record<string, string> }} options custom.esbuild
 */
export async function bundleHandler(entryPoints, outdir, options) {
  await build({
    entryPoints,
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: options.target ?? 'node20',
    minify: options.minify ?? true,
    sourcemap: 'external',
    define: options.define ?? {},
    banner: options.banner ?? {},
    logLevel: 'warning',
  });
}

/**
 * Zips the files under `dir` that `keep` accepts, with their paths below it, dated as the epoch so an unchanged bundle zips the same.
 * @param {string} dir
 * @param {string} artifact the zip file to write
 * @param {(file: string) => boolean} keep
 * @param {[file: string, pathInZip: string][]} [extra] other files, each at its own path in the zip
 * @returns {Promise<void>}
 */
export function zipFolder(dir, artifact, keep, extra = []) {
  const zip = new yazl.ZipFile();
  const walk = (at) => {
    for (const entry of readdirSync(at).sort()) {
      const path = join(at, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (keep(path)) zip.addFile(path, relative(dir, path), { mtime: new Date(0), mode: 0o100644 });
    }
  };
  walk(dir);
  for (const [file, pathInZip] of extra) zip.addFile(file, pathInZip, { mtime: new Date(0), mode: 0o100644 });
  return new Promise((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(artifact)).on('close', resolve).on('error', reject);
    zip.end();
  });
}
