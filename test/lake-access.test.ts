import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { icebergJobArguments, icebergSparkConf } from "../components/lake-access";
import { lakeConf } from "./support/lake-conf";
import { valueOf } from "./support/pulumi-mocks";

describe("lake access for Glue jobs", () => {
    it("chains every catalog setting of the contract into one --conf value, warehouse last", () => {
        expect(
            icebergSparkConf(
                {
                    catalog: "tables",
                    extensions: "x.Extensions",
                    catalogSettings: {
                        "": "x.Catalog",
                        "catalog-impl": "x.GlueCatalog",
                        "io-impl": "x.FileIO",
                        "glue.skip-name-validation": "false",
                    },
                    warehouseSetting: "warehouse",
                },
                "s3://bucket/",
            ),
        ).to.equal(
            "spark.sql.extensions=x.Extensions" +
                " --conf spark.sql.catalog.tables=x.Catalog" +
                " --conf spark.sql.catalog.tables.catalog-impl=x.GlueCatalog" +
                " --conf spark.sql.catalog.tables.io-impl=x.FileIO" +
                " --conf spark.sql.catalog.tables.glue.skip-name-validation=false" +
                " --conf spark.sql.catalog.tables.warehouse=s3://bucket/",
        );
    });

    it("turns on Glue's Iceberg and names the contract's catalog, with the lake bucket as warehouse", async () => {
        const resolved = await valueOf(pulumi.output(icebergJobArguments("lake")));
        expect(resolved).to.deep.equal({ "--datalake-formats": "iceberg", "--conf": lakeConf("lake") });
    });
});
