// The Worker's JavaScript side: start the Go program on the isolate's
// first request, then hand every request to it. Go's wasm_exec.js defines
// globalThis.Go; edge.wasm is GOOS=js GOARCH=wasm go build of this
// directory.
import "./wasm_exec.js";
import wasm from "./edge.wasm";

let started;

// start runs the Go program's main until it waits, which leaves
// globalThis.tokensessionFetch defined. It runs inside a request, not at
// module load: Go's runtime draws random numbers as it starts, which
// Workers allow only while handling a request.
async function start() {
	const go = new Go();
	const instance = await WebAssembly.instantiate(wasm, go.importObject);
	go.run(instance); // resolves only if main returns, which it does not
	return globalThis.tokensessionFetch;
}

export default {
	async fetch(request, env) {
		started ??= start();
		const serve = await started;
		return serve(request, env);
	},
};
