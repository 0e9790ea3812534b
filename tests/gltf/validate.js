// Validate a .glb with the Khronos glTF validator; prints its JSON report.
// usage: node validate.js FILE.glb   (gltf-validator from `npm install --prefix .tools`)
const fs = require("fs");
const path = require("path");
const validator = require(path.join(__dirname, "..", "..", ".tools", "node_modules", "gltf-validator"));

const file = process.argv[2];
validator
  .validateBytes(new Uint8Array(fs.readFileSync(file)), { uri: path.basename(file), maxIssues: 100 })
  .then((report) => console.log(JSON.stringify(report)))
  .catch((error) => {
    console.error(String(error));
    process.exit(1);
  });
