import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";
import { importFloors } from "./scripts/import-floors.mjs";

export default tseslint.config(
    { ignores: ["node_modules/", ".venv/", "bin/", "dist/", ".build/", "out/", "**/*.js", "**/*.mjs"] },
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-explicit-any": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
            "no-console": "off",
        },
    },
    // The floors between deploy time and run time. Lambda bundles carry lambdas/** and contracts/**
    // only; contracts/** is pure TypeScript both sides import (zod, each other, and the Glue jobs' own
    // JSON contracts, which stay beside the Python that loads them); the operator's command line
    // reaches the components only through the preview, which runs the whole program (index.ts).
    {
        files: ["lambdas/**/*.ts"],
        plugins: { floors: importFloors },
        rules: {
            "floors/imports": [
                "error",
                {
                    may: ["lambdas", "contracts"],
                    // What the nodejs22.x runtime provides (the SDK), and the event types, which compile away.
                    packages: ["@aws-sdk", "aws-lambda"],
                    why: "a function's bundle holds lambdas/** and contracts/** only; put what deploy time and run time share in contracts/",
                },
            ],
            "@typescript-eslint/no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            // A bundle carries nothing from node_modules but what the runtime provides (test/bundles.test.ts).
                            regex: "/contracts/stream-schema$",
                            allowTypeImports: true,
                            message:
                                "contracts/stream-schema.ts is zod: a function imports its types only, and reads the document with lambdas/shared/stream-schema.ts.",
                        },
                    ],
                },
            ],
        },
    },
    {
        files: ["contracts/**/*.ts"],
        plugins: { floors: importFloors },
        rules: {
            "floors/imports": [
                "error",
                {
                    may: ["contracts", "glue-scripts/ingest/contracts"],
                    packages: ["zod"],
                    why: "contracts/** imports nothing of the project but the Glue jobs' JSON contracts, and no package but zod: deploy time and run time both import it",
                },
            ],
        },
    },
    {
        files: ["cli/**/*.ts"],
        ignores: ["cli/preview/**"],
        plugins: { floors: importFloors },
        rules: {
            "floors/imports": [
                "error",
                {
                    mayNot: ["components"],
                    why: "cli/** reaches the components only through the preview (cli/preview/), which runs index.ts; shared names go in contracts/",
                },
            ],
        },
    },
    {
        files: ["test/**/*.ts"],
        rules: {
            "@typescript-eslint/no-unused-expressions": "off",
            "@typescript-eslint/no-require-imports": "off",
        },
    },
);
