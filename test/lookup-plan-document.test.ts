import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { lookupPlan, parseLookup } from "../config/lookup";
import { lookupPlanSchema } from "../contracts/lookup-plan";
import { repositoryRoot } from "./support/program";

/**
 * The loader's tests (tests-py/test_lookup_loader.py) read their plan from
 * tests-py/fixtures/lookup-plan-products.json rather than writing one by hand: it is the plan the
 * deploy side writes (config/lookup.ts `lookupPlan`, uploaded by LookupTable as lookup.json) for
 * test/fixtures/lookups-loader/products.yaml, so the two sides cannot drift while both suites pass.
 */
describe("the loader tests' lookup plan (tests-py/fixtures/lookup-plan-products.json)", () => {
    const definition = "test/fixtures/lookups-loader/products.yaml";
    const fixture = path.join(repositoryRoot, "tests-py", "fixtures", "lookup-plan-products.json");

    it(`is what lookupPlan writes for ${definition}`, () => {
        const plan = lookupPlan(parseLookup(definition, fs.readFileSync(path.join(repositoryRoot, definition), "utf8")));
        expect(JSON.parse(fs.readFileSync(fixture, "utf8")), "stale: write it from lookupPlan of the definition").to.deep.equal(plan);
    });

    it("is a plan the contract (contracts/lookup-plan.ts) accepts", () => {
        const plan = JSON.parse(fs.readFileSync(fixture, "utf8")) as unknown;
        expect(lookupPlanSchema.parse(plan)).to.deep.equal(plan);
    });
});
