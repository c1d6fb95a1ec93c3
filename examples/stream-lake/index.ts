/**
 * A Pulumi program of another team's, built on the platform's components alone: storage, a catalog
 * and one stream lake of orders, every definition a plain object. No YAML, no stack file: the stream
 * is checked by `defineStream` as `config/streams/<stream>.yaml` would be, and a bad one fails the
 * program with the field named.
 */
import * as pulumi from "@pulumi/pulumi";
// A program that depends on the package writes "ingestion-platform/components" (the exports map); this
// one sits inside the package, whose tsconfig resolves modules the node10 way, which reads no exports
// map, so it imports the same module by its path.
import { Catalog, defineStream, handlerCode, Storage, StreamLake, streamLakesPrefix } from "../../lib";

const name = `orders-${pulumi.getStack()}`;

const orders = defineStream({
    stream: "orders",
    description: "Orders placed in the shop, as the checkout service emits them",
    fields: [
        { name: "order_id", type: "string" },
        { name: "ordered_at", type: "timestamp" },
        { name: "country", type: "string" },
        { name: "amount", type: "decimal(12,2)" },
    ],
    eventTime: { field: "ordered_at" },
    partitioning: { granularity: "day", keys: ["country"] },
    kinesis: { mode: "on-demand", retentionHours: 24 },
});

const storage = new Storage(name, { retentionDays: 30, expiringLakePrefixes: [streamLakesPrefix] });

const catalog = new Catalog(name, {
    databaseName: "orders_lake",
    lake: storage.lake,
    tables: [],
    snapshotRetentionDays: 30,
    kmsKeyArn: storage.keyArn,
    athenaResultsBucketName: storage.athenaResults.name,
});

const lake = new StreamLake(`${name}-${orders.stream}`, {
    stream: orders,
    kmsKeyArn: storage.keyArn,
    lake: storage.lake,
    accessLogsBucketName: storage.accessLogs.name,
    databaseName: catalog.databaseName,
    workgroupName: catalog.workgroupName,
    securityConfigurationName: catalog.securityConfigurationName,
    producerCode: handlerCode("stream-producer"),
    crawlerStarterCode: handlerCode("crawler-starter"),
});

export const kinesisStream = lake.streamName;
export const table = lake.tableName;
export const lakeBucket = storage.lake.name;
