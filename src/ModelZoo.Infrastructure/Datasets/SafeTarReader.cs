using System.Formats.Tar;
using System.IO.Compression;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Reads regular files out of a tar stream without extracting it to disk, so a hostile archive cannot write outside
/// a folder (zip-slip) or plant links: names with "..", absolute names and non-regular entries are refused.
/// </summary>
public static class SafeTarReader
{
    public static Dictionary<string, byte[]> ReadFiles(string tgzPath, Func<string, bool> wanted, long maxBytesPerFile = 256L << 20)
    {
        using var fs = File.OpenRead(tgzPath);
        using var gz = new GZipStream(fs, CompressionMode.Decompress);
        return ReadFiles(gz, Path.GetFileName(tgzPath), wanted, maxBytesPerFile);
    }

    /// <summary>Reads a plain (already decompressed) tar stream. Names lose a leading "./" (dpkg-deb writes them so).</summary>
    public static Dictionary<string, byte[]> ReadFiles(Stream tar, string archiveName, Func<string, bool> wanted, long maxBytesPerFile = 256L << 20)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new TarReader(tar, leaveOpen: true);
        try
        {
            while (reader.GetNextEntry() is { } e)
            {
                var name = e.Name.Replace('\\', '/');
                if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
                if (name.StartsWith('/') || name.Split('/').Contains(".."))
                    throw new DatasetFetchException($"{archiveName}: entry '{name}' points outside the archive; refusing it.");
                if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                if (!wanted(name)) continue;
                if (e.Length > maxBytesPerFile)
                    throw new DatasetFetchException($"{archiveName}: entry '{name}' is {e.Length} bytes, over the limit of {maxBytesPerFile}.");
                using var ms = new MemoryStream((int)e.Length);
                e.DataStream?.CopyTo(ms);
                files[name] = ms.ToArray();
            }
        }
        catch (InvalidDataException ex) { throw new DatasetFetchException($"{archiveName} is not a valid archive: {ex.Message}", ex); }
        catch (EndOfStreamException ex) { throw new DatasetFetchException($"{archiveName} is truncated.", ex); }
        catch (FormatException ex) { throw new DatasetFetchException($"{archiveName} is not a valid tar archive: {ex.Message}", ex); }
        return files;
    }
}
