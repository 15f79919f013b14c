// Scalar's standalone API-reference script, embedded in the binary as a file. The package's exports map
// hides it, so it is reached by path; scalar-bundle.d.ts gives TypeScript its type.
import path from '../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' }

export default path
