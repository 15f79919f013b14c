/** Path of the embedded Scalar standalone script; open it with Bun.file(). */
declare const path: string
export default path
