using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

public enum ImportStage { Receiving, Checking, Decoding, Saving }

public sealed record ImportProgress(ImportStage Stage, double Fraction, string? Detail = null);

/// <summary>What the user says about an upload besides the file.</summary>
/// <param name="MirrorInvariant">Image uploads: a mirrored image keeps its class, so training may flip images
/// (<see cref="AugmentationProfile.ForNewUpload"/>). Off unless the user says so: the portal cannot see it in the
/// data, and a wrong yes teaches wrong labels. Text uploads ignore it.</param>
/// <param name="Duplicates">Drop exact duplicates and conflicting-label groups (listed in the facts), or refuse the
/// upload listing every group.</param>
public sealed record UploadDetails(string Name, string? License = null, string? Description = null, bool MirrorInvariant = false,
    DuplicatePolicy Duplicates = DuplicatePolicy.Drop);

/// <summary>
/// Imports a user's ImageFolder zip as a dataset, or refuses it with every problem found (file and reason) and
/// keeps nothing: the upload goes to a temp file in the datasets folder that is always deleted, and the dataset is
/// written by the store's atomic rename only after every check passed. Uploads are received concurrently, but
/// checked, decoded and written one at a time, which bounds memory and makes "the name is free" and the write one step.
/// </summary>
public sealed class ImageFolderImporter(DatasetStore store, IOptions<ImageUploadOptions> options, IEnumerable<BuiltInDataset> builtIns,
    ILogger<ImageFolderImporter> log)
{
    readonly SemaphoreSlim _gate = new(1, 1);
    public ImageUploadOptions Options => options.Value;

    /// <summary>The dataset id a name turns into: lower-case letters, digits and dashes.</summary>
    public static string IdFor(string name)
    {
        var sb = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
            sb.Append(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) ? c : '-');
        var id = string.Join('-', sb.ToString().Split('-', StringSplitOptions.RemoveEmptyEntries));
        return id.Length > 60 ? id[..60].TrimEnd('-') : id;
    }

    public async Task<DatasetInfo> ImportAsync(Stream upload, string fileName, UploadDetails details,
        IProgress<ImportProgress>? progress, CancellationToken ct, long? declaredLength = null)
    {
        var o = options.Value;
        fileName = Path.GetFileName(fileName.Replace('\\', '/'));
        var id = IdFor(details.Name);
        if (id.Length == 0) throw new DatasetRejectedException("", "Give the dataset a name with letters or digits.");
        if (declaredLength > o.MaxUploadBytes) throw TooLarge(fileName, declaredLength.Value, o);

        CheckNameIsFree(id);
        var tmp = store.TempPath("upload") + ".zip";
        try
        {
            // Receiving runs outside the gate: a slow upload does not hold up other imports.
            var (size, sha) = await ReceiveAsync(upload, tmp, fileName, declaredLength, progress, o, ct);
            await _gate.WaitAsync(ct);
            try
            {
                CheckNameIsFree(id);
                var info = await Task.Run(() => Build(tmp, fileName, size, sha, id, details, progress, o, ct), ct);
                log.LogInformation("Imported dataset {Id} from {File}: {Examples} images, {Classes} classes", id, fileName, info.Examples, info.ClassNames.Count);
                return info;
            }
            finally { _gate.Release(); }
        }
        finally
        {
            try { File.Delete(tmp); } catch (IOException e) { log.LogWarning(e, "Could not delete {Tmp}", tmp); }
        }
    }

    void CheckNameIsFree(string id)
    {
        if (store.Exists(id) || builtIns.Any(b => b.Id == id))
            throw new DatasetRejectedException("", $"A dataset with the id '{id}' exists already; choose another name.");
    }

    static DatasetRejectedException TooLarge(string file, long size, ImageUploadOptions o) =>
        new(file, $"is {ImageFolderZip.Mb(size)}, over the upload limit of {ImageFolderZip.Mb(o.MaxUploadBytes)} (Datasets:Upload:MaxUploadBytes)");

    static async Task<(long Size, string Sha)> ReceiveAsync(Stream upload, string tmp, string fileName, long? declared,
        IProgress<ImportProgress>? progress, ImageUploadOptions o, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buf = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = await upload.ReadAsync(buf, ct)) > 0)
        {
            total += n;
            if (total > o.MaxUploadBytes) throw TooLarge(fileName, total, o);
            sha.AppendData(buf, 0, n);
            await file.WriteAsync(buf.AsMemory(0, n), ct);
            if (declared is > 0) progress?.Report(new(ImportStage.Receiving, Math.Min(1, (double)total / declared.Value)));
        }
        progress?.Report(new(ImportStage.Receiving, 1));
        return (total, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    DatasetInfo Build(string zipPath, string fileName, long size, string zipSha, string id, UploadDetails details,
        IProgress<ImportProgress>? progress, ImageUploadOptions o, CancellationToken ct)
    {
        progress?.Report(new(ImportStage.Checking, 0));
        var problems = new List<UploadProblem>();
        using var zip = OpenZip(zipPath, fileName);
        var layout = ImageFolderZip.Read(zip, o, problems);
        // Unsafe entries stop the import before anything is inflated; a wrong class structure does not, so one
        // attempt lists the broken files too.
        ThrowIfAny(problems);
        CheckClasses(layout, o, problems);

        var all = new UploadedImageDecoder.Decoded?[layout.Images.Count];
        // Groups of byte-identical files, by SHA-256, each listed in archive order (its first file first).
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var copies = new List<List<int>>();
        // Every file is checked, however many are wrong: a refusal that stops at the twentieth leaves the uploader
        // fixing their archive one batch at a time (an icon theme had 275 duplicates).
        for (int i = 0; i < layout.Images.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var img = layout.Images[i];
            var bytes = ReadEntry(img, o, problems);
            if (bytes is null) continue;
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (groups.TryGetValue(hash, out var group))
            {
                if (group.Count == 1) copies.Add(group);
                group.Add(i);
                var first = layout.Images[group[0]];
                if (details.Duplicates == DuplicatePolicy.Refuse)
                    problems.Add(new(img.Path, first.ClassName == img.ClassName
                        ? $"has the same content as '{first.Path}' (duplicate file)"
                        : $"has the same content as '{first.Path}' in class '{first.ClassName}' (the same image under two labels)"));
                // A copy is not decoded: its first file was, or is listed as broken.
                continue;
            }
            groups[hash] = [i];
            var (image, problem) = UploadedImageDecoder.Decode(bytes, o.StoredSize, o.Fit, o.MaxPixels);
            if (problem is not null) { problems.Add(new(img.Path, problem)); continue; }
            all[i] = image!;
            progress?.Report(new(ImportStage.Decoding, (i + 1.0) / layout.Images.Count, $"{i + 1:N0} of {layout.Images.Count:N0}"));
        }
        ThrowIfAny(problems);

        var cleaning = DropDuplicates(layout, copies, details.Duplicates);
        var keep = Enumerable.Range(0, layout.Images.Count).Where(i => all[i] is not null && !cleaning.DroppedIndices.Contains(i)).ToArray();
        if (cleaning.Report.TotalDropped > 0)
        {
            CheckClassesAfterDropping(layout, keep, cleaning.Report, o, problems);
            ThrowIfAny(problems);
        }
        var decoded = keep.Select(i => all[i]!).ToArray();
        var kept = keep.Select(i => layout.Images[i]).ToArray();

        progress?.Report(new(ImportStage.Saving, 0));
        int channels = o.Channels != 0 ? o.Channels : decoded.All(d => d.IsGrey) ? 1 : 3;
        int plane = o.StoredSize * o.StoredSize, per = channels * plane;
        var pixels = new byte[(long)decoded.Length * per];
        var labels = new int[decoded.Length];
        var classIndex = layout.Classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        for (int i = 0; i < decoded.Length; i++)
        {
            labels[i] = classIndex[kept[i].ClassName];
            var dst = pixels.AsSpan((int)((long)i * per), per);
            decoded[i].CopyPlanes(channels, dst);
        }

        var split = StratifiedSplitter.Split(labels, o.SplitSeed, o.ValidationFraction, o.TestFraction);
        var stats = Stats(decoded);
        var near = NearDuplicates.Find(decoded.Select(NearDuplicates.Hash).ToArray(), kept.Select(k => k.Path).ToArray(), labels, split);
        var dropped = cleaning.Report.Summary("files");
        var info = new DatasetInfo
        {
            Id = id,
            Title = details.Name.Trim(),
            Description = string.IsNullOrWhiteSpace(details.Description)
                ? $"Uploaded ImageFolder archive {fileName}: {decoded.Length:N0} images in {layout.Classes.Count} classes."
                : details.Description.Trim(),
            ClassNames = layout.Classes,
            Width = o.StoredSize, Height = o.StoredSize, Channels = channels,
            License = string.IsNullOrWhiteSpace(details.License) ? "Not stated by the uploader" : details.License.Trim(),
            Provenance = $"Uploaded {fileName} ({ImageFolderZip.Mb(size)}) sha256 {zipSha}; decoded with SkiaSharp and stored at "
                + $"{o.StoredSize}x{o.StoredSize} {(channels == 1 ? "grey" : "RGB")} ({(o.Fit == UploadFit.CenterCrop ? "centre-cropped" : "stretched")})"
                + (layout.Skipped > 0 ? $"; {layout.Skipped} hidden or system files skipped" : "")
                + (dropped.Length > 0 ? $"; {dropped}" : ""),
            Origin = DatasetOrigin.Upload,
            Augmentation = AugmentationProfile.ForNewUpload(details.MirrorInvariant),
            Source = new DatasetSource("upload", fileName, "", fileName, zipSha, DateTimeOffset.UtcNow),
            SourceImages = stats,
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = o.SplitSeed,
            SplitMethod = $"Stratified by class, {1 - o.ValidationFraction - o.TestFraction:P0} train, {o.ValidationFraction:P0} validation, {o.TestFraction:P0} test, seed {o.SplitSeed}.",
            Cleaning = cleaning.Report with { NearDuplicates = near },
        };
        ct.ThrowIfCancellationRequested();
        // No replace: a text upload of the same name may have been stored meanwhile (it has its own importer).
        try { info = store.Write(info, new ImageSet { Width = o.StoredSize, Height = o.StoredSize, Channels = channels, Pixels = pixels, Labels = labels, ClassNames = layout.Classes }, split, replaceExisting: false); }
        catch (DatasetExistsException) { throw new DatasetRejectedException("", $"A dataset with the id '{id}' exists already; choose another name."); }
        progress?.Report(new(ImportStage.Saving, 1));
        return info;
    }

    /// <summary>Under <see cref="DuplicatePolicy.Drop"/>: each group of identical files in one class keeps its first
    /// file; a group spread over several classes is dropped whole, since no copy's label can be trusted over
    /// another's. Under Refuse the groups were listed as problems already, so nothing is dropped.</summary>
    static (UploadCleaning Report, HashSet<int> DroppedIndices) DropDuplicates(ImageFolderZip.Layout layout, List<List<int>> copies, DuplicatePolicy policy)
    {
        var droppedAt = new SortedDictionary<int, DroppedExample>();
        int exact = 0, conflictGroups = 0, conflictFiles = 0;
        if (policy == DuplicatePolicy.Drop)
            foreach (var group in copies)
            {
                var first = layout.Images[group[0]];
                var classes = group.Select(i => layout.Images[i].ClassName).Distinct(StringComparer.Ordinal).ToList();
                if (classes.Count == 1)
                {
                    foreach (var i in group.Skip(1))
                        droppedAt[i] = new(layout.Images[i].Path, "byte-identical copy (duplicate file)", first.Path);
                    exact += group.Count - 1;
                    continue;
                }
                conflictGroups++;
                conflictFiles += group.Count;
                var reason = $"the same image is in classes {string.Join(", ", classes.Select(c => $"'{c}'"))} "
                    + $"({string.Join(", ", group.Select(i => layout.Images[i].Path))}); all {group.Count} copies dropped (conflicting labels)";
                foreach (var i in group) droppedAt[i] = new(layout.Images[i].Path, reason);
            }
        return (new UploadCleaning(policy, exact, conflictGroups, conflictFiles, droppedAt.Values.ToList()), droppedAt.Keys.ToHashSet());
    }

    /// <summary>Dropping copies can leave a class with too few images; that is refused, naming what was dropped.</summary>
    static void CheckClassesAfterDropping(ImageFolderZip.Layout layout, int[] keep, UploadCleaning cleaning, ImageUploadOptions o, List<UploadProblem> problems)
    {
        var counts = keep.GroupBy(i => layout.Images[i].ClassName).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var c in layout.Classes)
        {
            int n = counts.GetValueOrDefault(c);
            if (n < o.MinImagesPerClass)
            {
                var gone = cleaning.Dropped.Count(d => d.Item.StartsWith(layout.Root + c + "/", StringComparison.Ordinal));
                problems.Add(new(layout.Root + c + "/", $"class '{c}' has {n} image{(n == 1 ? "" : "s")} after {gone} duplicate or conflicting "
                    + $"file{(gone == 1 ? " was" : "s were")} dropped; each class needs at least {o.MinImagesPerClass} (Datasets:Upload:MinImagesPerClass)"));
            }
        }
        if (counts.Count < 2)
            problems.Add(new("", $"After dropping {cleaning.TotalDropped} duplicate or conflicting files, {counts.Count} class{(counts.Count == 1 ? "" : "es")} remain; a classifier needs at least 2."));
    }

    static ZipArchive OpenZip(string path, string fileName)
    {
        var fs = File.OpenRead(path);
        try { return new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: false); }
        catch (InvalidDataException e)
        {
            fs.Dispose();
            throw new DatasetRejectedException(fileName, $"is not a valid zip archive ({e.Message})");
        }
    }

    static void CheckClasses(ImageFolderZip.Layout layout, ImageUploadOptions o, List<UploadProblem> problems)
    {
        var counts = layout.Images.GroupBy(i => i.ClassName).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var c in layout.Classes)
        {
            int n = counts.GetValueOrDefault(c);
            if (n == 0) problems.Add(new(layout.Root + c + "/", $"class '{c}' is empty; remove the folder or add images"));
            else if (n < o.MinImagesPerClass)
                problems.Add(new(layout.Root + c + "/", $"class '{c}' has {n} image{(n == 1 ? "" : "s")}; each class needs at least {o.MinImagesPerClass} (Datasets:Upload:MinImagesPerClass)"));
        }
        if (layout.Classes.Count < 2)
            problems.Add(new("", layout.Classes.Count == 0
                ? "The archive holds no class folders with images; expected <class>/<image> (ImageFolder layout)."
                : $"The archive holds one class ('{layout.Classes[0]}'); a classifier needs at least 2 class folders."));
        if (layout.Classes.Count > o.MaxClasses)
            problems.Add(new("", $"The archive holds {layout.Classes.Count} classes, over the limit of {o.MaxClasses} (Datasets:Upload:MaxClasses)."));
    }

    static byte[]? ReadEntry(ImageFolderZip.ImageEntry img, ImageUploadOptions o, List<UploadProblem> problems)
    {
        try
        {
            using var s = img.Entry.Open();
            using var ms = new MemoryStream((int)Math.Min(img.Entry.Length, o.MaxFileBytes));
            var buf = new byte[1 << 16];
            int n;
            // The directory's sizes can lie; the limit holds for the bytes actually inflated.
            while ((n = s.Read(buf)) > 0)
            {
                if (ms.Length + n > o.MaxFileBytes)
                {
                    problems.Add(new(img.Path, $"inflates to more than {ImageFolderZip.Mb(o.MaxFileBytes)} (Datasets:Upload:MaxFileBytes)"));
                    return null;
                }
                ms.Write(buf, 0, n);
            }
            return ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            problems.Add(new(img.Path, $"is damaged inside the zip: {e.Message}"));
            return null;
        }
    }

    static SourceImageStats Stats(UploadedImageDecoder.Decoded[] d)
    {
        static int Median(IEnumerable<int> xs) { var a = xs.Order().ToArray(); return a[a.Length / 2]; }
        var sizes = d.GroupBy(x => (x.Width, x.Height)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Width).ThenBy(g => g.Key.Height)
            .Select(g => new ImageSizeCount(g.Key.Width, g.Key.Height, g.Count())).ToList();
        return new SourceImageStats(
            d.GroupBy(x => x.Format).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
            d.Min(x => x.Width), Median(d.Select(x => x.Width)), d.Max(x => x.Width),
            d.Min(x => x.Height), Median(d.Select(x => x.Height)), d.Max(x => x.Height),
            sizes.Take(8).ToList(),
            d.Count(x => x.IsGrey),
            sizes.Take(SourceImageStats.MaxSizes).ToList());
    }

    static void ThrowIfAny(List<UploadProblem> problems)
    {
        if (problems.Count > 0) throw new DatasetRejectedException(problems);
    }
}
