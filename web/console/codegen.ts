// GraphQL operations in src/ are validated and typed against the exported SDL: an API change that
// breaks one of them fails `npm run build` (codegen runs first).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema/schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        documentMode: "string", // plain strings: no graphql-js in the bundle
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: "string", JSON: "unknown", Upload: "File" },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};
export default config;
