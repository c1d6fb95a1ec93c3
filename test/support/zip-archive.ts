import * as zlib from "zlib";

/**
 * A ZIP archive of stored (uncompressed) files, entry names written exactly as given (a "../" one
 * included), so a test owns every byte of the archives it lands.
 */
export function zipArchive(files: Readonly<Record<string, string>>): Buffer {
    const localParts: Buffer[] = [];
    const centralRecords: Buffer[] = [];
    let offset = 0;
    for (const [name, text] of Object.entries(files)) {
        const fileName = Buffer.from(name, "utf8");
        const data = Buffer.from(text, "utf8");
        // Fields shared by the local header (from offset 4) and the central record (from offset 6).
        const shared = Buffer.alloc(26);
        shared.writeUInt16LE(20, 0); // version needed to extract: 2.0
        shared.writeUInt16LE(0x0800, 2); // flags: the name is UTF-8
        shared.writeUInt16LE(0, 4); // method: stored
        shared.writeUInt16LE(0, 6); // time 00:00:00
        shared.writeUInt16LE(((2026 - 1980) << 9) | (1 << 5) | 1, 8); // date 2026-01-01
        shared.writeUInt32LE(zlib.crc32(data), 10);
        shared.writeUInt32LE(data.length, 14); // compressed size
        shared.writeUInt32LE(data.length, 18); // uncompressed size
        shared.writeUInt16LE(fileName.length, 22);
        shared.writeUInt16LE(0, 24); // extra field length
        const local = Buffer.concat([uint32(0x04034b50), shared, fileName, data]);
        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
        shared.copy(central, 6);
        central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular file, rw-r--r--
        central.writeUInt32LE(offset, 42);
        centralRecords.push(Buffer.concat([central, fileName]));
        localParts.push(local);
        offset += local.length;
    }
    const directory = Buffer.concat(centralRecords);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(centralRecords.length, 8);
    end.writeUInt16LE(centralRecords.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...localParts, directory, end]);
}

function uint32(value: number): Buffer {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value, 0);
    return buffer;
}
