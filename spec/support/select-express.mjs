// The suite runs twice: once on Express 5 (the devDependency `express`) and
// once on Express 4 (`express4`, an npm alias), so both supported majors are
// tested. With KAR_EXPRESS=4 every import of 'express' (ours and the specs')
// resolves to Express 4, whether tsx loads a file as ESM or as CommonJS.
import Module, { register } from 'node:module';

if (process.env.KAR_EXPRESS === '4') {
  register('./express4-loader.mjs', import.meta.url);
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function resolveExpress4(request, ...rest) {
    return resolveFilename.call(this, request === 'express' ? 'express4' : request, ...rest);
  };
}
