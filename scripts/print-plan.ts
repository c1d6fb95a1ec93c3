import { loadJobPlan } from "../config/load";
import { ConfigError } from "../config/yaml-source";

/**
 * Prints the job plan of one mapping as JSON on stdout, exactly as the Pulumi program builds it:
 *
 *     npx tsx scripts/print-plan.ts customers                 # config/mappings/customers.yaml
 *     npx tsx scripts/print-plan.ts path/to/any-mapping.yaml  # a mapping file anywhere
 *
 * A name is read under the config root: the repository, or the folder INGESTION_CONFIG_ROOT names.
 *
 * The Python contract tests read it so they check the real plan rather than a copy.
 */

const mappings = process.argv.slice(2);
if (mappings.length !== 1) {
    console.error("usage: npx tsx scripts/print-plan.ts <mapping name, e.g. customers, or the path of a mapping file>");
    process.exit(2);
}
try {
    const plan = loadJobPlan(mappings[0]!);
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
} catch (error) {
    if (!(error instanceof ConfigError)) {
        throw error;
    }
    console.error(error.message);
    process.exit(1);
}
