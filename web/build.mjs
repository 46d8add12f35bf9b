// Builds the web phone's page (issue 11; served by sk-phone-relay --web, the
// web form of docs/PROTOCOL.md §2.1 points the phone's camera at it): esbuild
// bundles src/main.js into app.js and src/sw.js into sw.js, next to
// index.html, style.css, manifest.webmanifest and icons/.
//
//   node build.mjs OUTDIR [--depfile FILE]
//
// The service worker's first lines are the list of the app shell's files
// and a hash of their bytes (const SKP_SHELL, SKP_VERSION): a new build is a new sw.js, so
// the browser installs it and it replaces the cached shell. --depfile
// writes every input in make's syntax, for meson's custom_target.
//
// Until web/src/app/ (the controller, h-webctl's) exists, the page is built
// with a stand-in that fails at start, so that the page says so instead of
// the build failing; likewise a module only import()ed (phone/hostcheck.js)
// that is not there yet.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync,
    rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
// Chromium 100+ and Safari 15.4+ (the phones this page is for; WebCrypto
// P-256, ES2022, module scripts and service workers everywhere there).
const TARGET = ['es2022', 'chrome100', 'safari15.4', 'firefox100'];
const STATIC = ['index.html', 'style.css', 'manifest.webmanifest'];

function usage() {
	process.stderr.write('usage: node build.mjs OUTDIR [--depfile FILE]\n');
	process.exit(2);
}

const args = process.argv.slice(2);
let outArg = null, depfile = null;
for (let i = 0; i < args.length; i++) {
	if (args[i] === '--depfile' && i + 1 < args.length)
		depfile = args[++i];
	else if (outArg === null && !args[i].startsWith('-'))
		outArg = args[i];
	else
		usage();
}
if (outArg === null)
	usage();
const out = resolve(outArg);

// The modules of web/src/app/ that the page needs, when not there yet.
const MISSING = {
	'controller.js': 'export async function startPhone() {\n' +
	    '\tthrow new Error("this build of the page has no phone core ' +
	    '(web/src/app/controller.js was missing when it was built)");\n}\n',
	'idbkv.js': 'export async function openIdbKV() { return null; }\n',
};
const standIns = [];
const missingApp = {
	name: 'skp-missing-app',
	setup(b) {
		b.onResolve({ filter: /^\.\/app\/[a-z]+\.js$/ }, (a) => {
			const p = join(a.resolveDir, a.path);
			const base = a.path.slice('./app/'.length);
			if (existsSync(p) || !(base in MISSING))
				return undefined;
			standIns.push('app/' + base);
			return { path: base, namespace: 'skp-missing' };
		});
		// A module loaded with import() only when first needed (the
		// engine's hostcheck.js) may land after the module that loads
		// it: until then that import() rejects, saying so.
		b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (a) => {
			const p = join(a.resolveDir, a.path);
			if (a.kind !== 'dynamic-import' || existsSync(p))
				return undefined;
			const rel = relative(join(here, 'src'), p);
			standIns.push(rel);
			return { path: rel, namespace: 'skp-missing-lazy' };
		});
		b.onLoad({ filter: /.*/, namespace: 'skp-missing' }, (a) => ({
			contents: MISSING[a.path], loader: 'js' }));
		b.onLoad({ filter: /.*/, namespace: 'skp-missing-lazy' }, (a) => ({
			contents: `throw new Error(${JSON.stringify('this build of the page ' +
			    `has no web/src/${a.path} (it was missing when it was built)`)});\n`,
			loader: 'js' }));
	},
};

const inputs = new Set([fileURLToPath(import.meta.url)]);
function noteInputs(meta) {
	for (const f of Object.keys(meta.inputs))
		if (!f.includes(':'))
			inputs.add(resolve(here, f));
}

async function bundle(entry, outfile, banner = '', plugins = []) {
	const r = await esbuild.build({
		entryPoints: [join(here, 'src', entry)],
		outfile: join(out, outfile),
		bundle: true,
		format: 'esm',
		target: TARGET,
		platform: 'browser',
		charset: 'utf8',
		legalComments: 'none',
		banner: { js: banner },
		plugins,
		metafile: true,
		logLevel: 'warning',
		absWorkingDir: here,
	});
	noteInputs(r.metafile);
}

function listFiles(dir, prefix = '') {
	const names = [];
	for (const e of readdirSync(dir, { withFileTypes: true }).sort(
	    (a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
		if (e.name.startsWith('.'))
			continue;
		if (e.isDirectory())
			names.push(...listFiles(join(dir, e.name), prefix + e.name + '/'));
		else
			names.push(prefix + e.name);
	}
	return names;
}

// Emptied, not removed: a relay serving it holds the folder open.
mkdirSync(out, { recursive: true });
for (const e of readdirSync(out))
	rmSync(join(out, e), { recursive: true, force: true });

await bundle('main.js', 'app.js', '', [missingApp]);
for (const f of STATIC) {
	copyFileSync(join(here, f), join(out, f));
	inputs.add(join(here, f));
}
mkdirSync(join(out, 'icons'));
for (const f of listFiles(join(here, 'icons'))) {
	copyFileSync(join(here, 'icons', f), join(out, 'icons', f));
	inputs.add(join(here, 'icons', f));
}

// The shell: every file but the service worker itself, "./" for the page.
const shell = listFiles(out).filter((f) => f !== 'sw.js');
const h = createHash('sha256');
for (const f of shell) {
	h.update(f + '\0');
	h.update(readFileSync(join(out, f)));
}
const version = h.digest('hex').slice(0, 16);
const urls = ['./', ...shell.filter((f) => f !== 'index.html').map((f) => './' + f)];
await bundle('sw.js', 'sw.js', '// made by web/build.mjs\n' +
    `const SKP_VERSION = ${JSON.stringify(version)};\n` +
    `const SKP_SHELL = ${JSON.stringify(urls)};\n`);

// The source folders too: a file added to one (a module that was
// missing) changes its time, so ninja builds again.
const dirs = [join(here, 'icons')];
const walk = (d) => {
	dirs.push(d);
	for (const e of readdirSync(d, { withFileTypes: true }))
		if (e.isDirectory() && !e.name.startsWith('.'))
			walk(join(d, e.name));
};
walk(join(here, 'src'));
for (const d of dirs)
	inputs.add(d);

// ninja compares the folder's time with its inputs'.
const now = new Date();
utimesSync(out, now, now);

if (depfile !== null) {
	const esc = (p) => p.replace(/([ #$\\])/g, '\\$1');
	writeFileSync(depfile, esc(outArg) + ': ' +
	    [...inputs].sort().map(esc).join(' \\\n\t') + '\n');
}
if (standIns.length > 0)
	process.stderr.write('web/build.mjs: built without web/src/' +
	    standIns.join(', web/src/') + ' (not there yet): the page ' +
	    'says so where it needs them\n');
process.stdout.write(`web/build.mjs: ${relative(process.cwd(), out) || '.'}: ` +
    `${shell.length + 1} files, shell ${version}\n`);
