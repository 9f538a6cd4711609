import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "bench/.work/", ".scratch/", "coverage/", "editors/vscode/dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", performance: "readonly", URL: "readonly", setInterval: "readonly", setTimeout: "readonly", Buffer: "readonly", fetch: "readonly", URLSearchParams: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-control-regex": "off",
      eqeqeq: ["error", "always"],
    },
  },
);
