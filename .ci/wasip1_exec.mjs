// Runs a GOOS=wasip1 GOARCH=wasm binary under Node.js's built-in WASI
// (preview1), for `go test -exec`: node .ci/wasip1_exec.mjs prog.wasm args…
// The whole file system is preopened at / and the environment (PWD
// included, which Go's wasip1 port takes as its working directory) is
// passed through, so tests find their testdata/ as they do natively.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import process from "node:process";

const [wasmPath, ...args] = process.argv.slice(2);
if (!wasmPath) {
	console.error("usage: node wasip1_exec.mjs prog.wasm [args…]");
	process.exit(2);
}
const wasi = new WASI({
	version: "preview1",
	args: [wasmPath, ...args],
	env: { ...process.env, PWD: process.cwd() },
	preopens: { "/": "/" },
	returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
