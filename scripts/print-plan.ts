import { loadJobPlans } from "../config/load";
import { ConfigError } from "../config/yaml-source";

/**
 * Prints the job plan of one mapping as JSON on stdout, exactly as the Pulumi program builds it:
 *
 *     npx tsx scripts/print-plan.ts customers
 *
 * The Python contract tests read it so they check the real plan rather than a copy.
 */

const names = process.argv.slice(2);
if (names.length !== 1) {
    console.error("usage: npx tsx scripts/print-plan.ts <mapping name, e.g. customers>");
    process.exit(2);
}
try {
    const [plan] = loadJobPlans(names);
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
} catch (error) {
    if (!(error instanceof ConfigError)) {
        throw error;
    }
    console.error(error.message);
    process.exit(1);
}
