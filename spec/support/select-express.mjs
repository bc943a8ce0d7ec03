// The suite runs twice: once on Express 5 (the devDependency `express`) and
// once on Express 4 (`express4`, an npm alias), so both supported majors are
// tested. With KAR_EXPRESS=4 every `import 'express'` (ours and the specs')
// resolves to Express 4.
import { register } from 'node:module';

if (process.env.KAR_EXPRESS === '4') {
  register('./express4-loader.mjs', import.meta.url);
}
