import { isBuiltin } from "node:module";
import * as path from "node:path";

const repositoryRoot = path.resolve(import.meta.dirname, "..");

/** A path inside the repository, with forward slashes: `lambdas/shared/events`. */
function repositoryPath(file) {
    return path.relative(repositoryRoot, file).split(path.sep).join("/");
}

function under(place, folders) {
    return folders.some((folder) => place === folder || place.startsWith(`${folder}/`));
}

/**
 * `floors/imports`: what the files a config block matches may import, by where the import resolves
 * in the repository rather than by how its relative path is spelled, so a file at any depth is held
 * to its floor. Options: `may` (the only repository folders a relative import may reach), `mayNot`
 * (folders it may not reach), `packages` (the only packages besides Node's own), and `why`, the
 * message that says where the shared thing goes instead.
 */
const importsRule = {
    meta: {
        type: "problem",
        schema: [
            {
                type: "object",
                properties: {
                    may: { type: "array", items: { type: "string" } },
                    mayNot: { type: "array", items: { type: "string" } },
                    packages: { type: "array", items: { type: "string" } },
                    why: { type: "string" },
                },
                required: ["why"],
                additionalProperties: false,
            },
        ],
        messages: { floor: "{{importer}} may not import {{imported}}: {{why}}" },
    },
    create(context) {
        const { may, mayNot = [], packages, why } = context.options[0];
        const importer = repositoryPath(context.filename);
        const check = (source) => {
            if (!source || typeof source.value !== "string") {
                return;
            }
            const specifier = source.value;
            let allowed;
            let imported = specifier;
            if (specifier.startsWith(".")) {
                imported = repositoryPath(path.resolve(path.dirname(context.filename), specifier));
                allowed = (may === undefined || under(imported, may)) && !under(imported, mayNot);
            } else {
                allowed = isBuiltin(specifier) || packages === undefined || under(specifier, packages);
            }
            if (!allowed) {
                context.report({ node: source, messageId: "floor", data: { importer, imported, why } });
            }
        };
        return {
            ImportDeclaration: (node) => check(node.source),
            ExportNamedDeclaration: (node) => check(node.source),
            ExportAllDeclaration: (node) => check(node.source),
            ImportExpression: (node) => check(node.source),
        };
    },
};

export const importFloors = { rules: { imports: importsRule } };
