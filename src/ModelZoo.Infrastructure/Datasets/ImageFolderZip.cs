using System.IO.Compression;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Reads the directory of an ImageFolder zip (one folder per class, optionally inside one top folder) without
/// decompressing anything, and refuses what must never be unpacked: paths that escape (zip-slip), links and
/// special files, too many or too large files. Images may sit deeper inside their class folder, as torchvision's
/// ImageFolder allows. Hidden files and the clutter of macOS and Windows (__MACOSX, .DS_Store, Thumbs.db) are
/// skipped.
/// </summary>
public static class ImageFolderZip
{
    public sealed record ImageEntry(ZipArchiveEntry Entry, string Path, string ClassName);

    /// <param name="Root">The top folder everything sat in ("" when the class folders are at the top), with its slash.</param>
    public sealed record Layout(IReadOnlyList<string> Classes, IReadOnlyList<ImageEntry> Images, int Skipped, string Root);

    const int UnixFileTypeMask = 0xF000, UnixRegular = 0x8000, UnixDirectory = 0x4000, UnixLink = 0xA000;
    static readonly HashSet<string> Clutter = new(StringComparer.OrdinalIgnoreCase) { ".DS_Store", "Thumbs.db", "desktop.ini", "__MACOSX" };

    public static Layout Read(ZipArchive zip, ImageUploadOptions o, List<UploadProblem> problems)
    {
        var files = new List<(ZipArchiveEntry Entry, string[] Parts)>();
        var folders = new List<string[]>();
        int skipped = 0;
        long total = 0;
        foreach (var e in zip.Entries)
        {
            var name = e.FullName.Replace('\\', '/');
            // "./cats/1.png" (what `zip -r x.zip ./` and some archivers write) is cats/1.png, not a hidden folder.
            var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
            if (name.StartsWith('/') || (name.Length > 1 && name[1] == ':') || parts.Contains("..") || name.Contains('\0'))
            {
                problems.Add(new(name, "points outside the archive (absolute path or '..'); archives with such paths are refused"));
                continue;
            }
            int unixType = (e.ExternalAttributes >> 16) & UnixFileTypeMask;
            if (unixType == UnixLink) { problems.Add(new(name, "is a symbolic link; links are refused")); continue; }
            bool isFolder = name.EndsWith('/') || unixType == UnixDirectory;
            if (unixType != 0 && unixType != UnixRegular && !isFolder) { problems.Add(new(name, "is not a regular file (device, pipe or socket)")); continue; }
            if (parts.Length == 0) continue;
            if (parts.Any(p => Clutter.Contains(p) || p.StartsWith('.'))) { if (!isFolder) skipped++; continue; }
            if (isFolder) { folders.Add(parts); continue; }
            files.Add((e, parts));
            if (files.Count > o.MaxFiles)
                throw new DatasetRejectedException("", $"The archive holds more than {o.MaxFiles:N0} files, the limit (Datasets:Upload:MaxFiles).");
            if (e.Length > o.MaxFileBytes)
                problems.Add(new(name, $"is {Mb(e.Length)} uncompressed, over the per-file limit of {Mb(o.MaxFileBytes)} (Datasets:Upload:MaxFileBytes)"));
            total += e.Length;
            if (total > o.MaxTotalBytes)
                throw new DatasetRejectedException("", $"The archive unpacks to more than {Mb(o.MaxTotalBytes)}, the limit (Datasets:Upload:MaxTotalBytes).");
        }

        // A zip of the dataset's folder puts everything under one top folder: look through it.
        int skip = files.Count > 0 && files.All(f => f.Parts.Length >= 3 && f.Parts[0] == files[0].Parts[0]) ? 1 : 0;
        var images = new List<ImageEntry>();
        foreach (var (entry, parts) in files)
        {
            var inner = parts[skip..];
            if (inner.Length < 2)
            {
                problems.Add(new(string.Join('/', parts), "is not inside a class folder; put each image in a folder named after its class (<class>/<image>)"));
                continue;
            }
            images.Add(new ImageEntry(entry, string.Join('/', parts), inner[0]));
        }
        var declared = folders.Where(f => f.Length == skip + 1 && (skip == 0 || f[0] == files.FirstOrDefault().Parts?[0])).Select(f => f[skip]);
        var classes = images.Select(i => i.ClassName).Concat(declared).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        images.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new Layout(classes, images, skipped, skip == 1 ? files[0].Parts[0] + "/" : "");
    }

    public static string Mb(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.#} MB" : $"{bytes / 1024.0:0.#} KB";
}
