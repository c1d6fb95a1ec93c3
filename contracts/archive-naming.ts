import { z } from "zod";

/**
 * How a pipeline's archives are named, compiled from the mapping's `archive.name` template
 * (config/formats.ts, compileArchiveName): the job plan carries it to the Glue job, the extract
 * trigger reads it in ARCHIVE_NAMING, and `ingest replay` reads names with it.
 */
export const archiveNamingSchema = z.strictObject({
    /** Anchored regex over the file name, one group per entry of `groups`: only literals, `\d{n}` and `(\d+)`, so JavaScript and Python read it alike. */
    regex: z.string(),
    groups: z.array(z.enum(["timestamp", "sequence"])),
    /** yyyy MM dd HH mm ss and 'quoted' literals (the archiveName dialect of contracts/datetime-pattern.ts); UTC. */
    timestampFormat: z.string(),
});

export type ArchiveNaming = z.infer<typeof archiveNamingSchema>;
