using System.Collections.Concurrent;
using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Datasets on disk, one folder each under <c>&lt;DataDir&gt;/datasets/&lt;id&gt;</c>: <c>dataset.json</c> (facts),
/// <c>images.u8</c> (N x C x H x W bytes), <c>labels.u8</c>, <c>splits.json</c>. A folder appears only complete:
/// writers build in a temp folder and rename it into place.
/// </summary>
/// <remarks>An images file larger than <see cref="PipelineOptions.MemoryBudgetBytes"/> is not read into memory: the
/// loaded set names the file and the image pipeline streams it.</remarks>
public sealed class DatasetStore(ZooPaths paths, PipelineOptions? pipeline = null) : IDatasetCatalog
{
    readonly long _inMemoryLimit = (pipeline ?? new PipelineOptions()).MemoryBudgetBytes;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    readonly ConcurrentDictionary<string, Lazy<LoadedDataset>> _loaded = new();

    public string FolderOf(string id) => Path.Combine(paths.DatasetsDir, id);

    public IReadOnlyList<DatasetInfo> All() =>
        Directory.Exists(paths.DatasetsDir)
            ? Directory.GetDirectories(paths.DatasetsDir)
                .Where(d => !Path.GetFileName(d).StartsWith('.'))
                .Select(d => TryReadInfo(Path.GetFileName(d)))
                .OfType<DatasetInfo>().OrderBy(d => d.Title).ToList()
            : [];

    public DatasetInfo? Find(string id) => IsSafeId(id) ? TryReadInfo(id) : null;

    public bool Exists(string id) => Find(id) is not null;

    public LoadedDataset Load(string id)
    {
        if (!IsSafeId(id) || TryReadInfo(id) is null) throw new KeyNotFoundException($"Dataset '{id}' does not exist.");
        return _loaded.GetOrAdd(id, key => new Lazy<LoadedDataset>(() => ReadAll(key))).Value;
    }

    LoadedDataset ReadAll(string id)
    {
        var dir = FolderOf(id);
        var info = TryReadInfo(id)!;
        var imagesFile = Path.Combine(dir, "images.u8");
        var stored = new FileInfo(imagesFile).Length;
        var pixels = stored > _inMemoryLimit ? [] : File.ReadAllBytes(imagesFile);
        var labels = File.ReadAllBytes(Path.Combine(dir, "labels.u8")).Select(b => (int)b).ToArray();
        var split = JsonSerializer.Deserialize<SplitIndices>(File.ReadAllText(Path.Combine(dir, "splits.json")), Json)!;
        var images = new ImageSet
        {
            Width = info.Width, Height = info.Height, Channels = info.Channels,
            Pixels = pixels, Labels = labels, ClassNames = info.ClassNames, PixelsFile = imagesFile,
        };
        if (stored != (long)images.ImageBytes * labels.Length)
            throw new InvalidDataException($"Dataset '{id}' is inconsistent: {stored} pixel bytes for {labels.Length} labels.");
        return new LoadedDataset(info, images, split);
    }

    DatasetInfo? TryReadInfo(string id)
    {
        var f = Path.Combine(FolderOf(id), "dataset.json");
        if (!File.Exists(f)) return null;
        try { return JsonSerializer.Deserialize<DatasetInfo>(File.ReadAllText(f), Json); }
        catch (JsonException) { return null; }
    }

    /// <summary>Labels only (one byte each), for histograms without loading the images.</summary>
    public int[] ReadLabels(string id)
    {
        if (Find(id) is null) throw new KeyNotFoundException($"Dataset '{id}' does not exist.");
        return File.ReadAllBytes(Path.Combine(FolderOf(id), "labels.u8")).Select(b => (int)b).ToArray();
    }

    /// <summary>The C x H x W bytes of each image at <paramref name="indices"/>, read by offset (for thumbnails).</summary>
    public byte[][] ReadImages(string id, IReadOnlyList<int> indices)
    {
        var info = Find(id) ?? throw new KeyNotFoundException($"Dataset '{id}' does not exist.");
        int per = info.Width * info.Height * info.Channels;
        using var handle = File.OpenHandle(Path.Combine(FolderOf(id), "images.u8"));
        return indices.Select(i =>
        {
            if (i < 0 || i >= info.Examples) throw new ArgumentOutOfRangeException(nameof(indices), $"Image {i} is outside 0..{info.Examples - 1}.");
            var buf = new byte[per];
            if (RandomAccess.Read(handle, buf, (long)i * per) != per) throw new InvalidDataException($"Dataset '{id}' is shorter than its facts say.");
            return buf;
        }).ToArray();
    }

    /// <summary>Removes a dataset folder (uploads); runs keep their own records of what they used.</summary>
    public bool Delete(string id)
    {
        if (!IsSafeId(id) || !Directory.Exists(FolderOf(id))) return false;
        // Rename first so readers never see a half-deleted folder.
        var doomed = Path.Combine(paths.DatasetsDir, $".tmp-delete-{id}-{Guid.NewGuid():N}");
        Directory.Move(FolderOf(id), doomed);
        _loaded.TryRemove(id, out _);
        Directory.Delete(doomed, recursive: true);
        return true;
    }

    /// <summary>A temp path in the datasets folder, named so <see cref="RemoveLeftovers"/> finds it after a crash.</summary>
    public string TempPath(string purpose) => Path.Combine(paths.DatasetsDir, $".tmp-{purpose}-{Guid.NewGuid():N}");

    /// <summary>Deletes temp folders and files older than <paramref name="age"/> that a crash left behind.</summary>
    public int RemoveLeftovers(TimeSpan age)
    {
        if (!Directory.Exists(paths.DatasetsDir)) return 0;
        int removed = 0;
        foreach (var e in new DirectoryInfo(paths.DatasetsDir).EnumerateFileSystemInfos(".tmp-*"))
        {
            if (DateTime.UtcNow - e.LastWriteTimeUtc < age) continue;
            try
            {
                if (e is DirectoryInfo d) d.Delete(recursive: true); else e.Delete();
                removed++;
            }
            catch (IOException) { }
        }
        return removed;
    }

    /// <summary>Writes a complete dataset atomically: a temp folder, then one rename. The class counts in the
    /// facts are taken from the labels written, so the two cannot disagree.</summary>
    public DatasetInfo Write(DatasetInfo info, ImageSet images, SplitIndices split)
    {
        if (!IsSafeId(info.Id)) throw new ArgumentException($"Invalid dataset id '{info.Id}'.");
        if (images.Pixels.LongLength != (long)images.ImageBytes * images.Count)
            throw new ArgumentException($"{images.Pixels.LongLength} pixel bytes for {images.Count} images of {images.ImageBytes} bytes.");
        if (images.ClassNames.Count > 256) throw new ArgumentException($"{images.ClassNames.Count} classes; labels are stored as bytes (256 at most).");
        var counts = new int[images.ClassNames.Count];
        foreach (var l in images.Labels)
        {
            if ((uint)l >= counts.Length) throw new ArgumentException($"Label {l} is not one of the {counts.Length} classes.");
            counts[l]++;
        }
        info = info with { ClassCounts = counts, Examples = images.Count };
        var tmp = Directory.CreateDirectory(Path.Combine(paths.DatasetsDir, $".tmp-{info.Id}-{Guid.NewGuid():N}"));
        try
        {
            File.WriteAllBytes(Path.Combine(tmp.FullName, "images.u8"), images.Pixels);
            File.WriteAllBytes(Path.Combine(tmp.FullName, "labels.u8"), images.Labels.Select(l => checked((byte)l)).ToArray());
            File.WriteAllText(Path.Combine(tmp.FullName, "splits.json"), JsonSerializer.Serialize(split, Json));
            File.WriteAllText(Path.Combine(tmp.FullName, "dataset.json"), JsonSerializer.Serialize(info, Json));
            var final = FolderOf(info.Id);
            if (Directory.Exists(final))
            {
                var old = Path.Combine(paths.DatasetsDir, $".tmp-replaced-{info.Id}-{Guid.NewGuid():N}");
                Directory.Move(final, old);
                Directory.Move(tmp.FullName, final);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp.FullName, final);
            _loaded.TryRemove(info.Id, out _);
            return info;
        }
        catch
        {
            if (tmp.Exists) tmp.Delete(recursive: true);
            throw;
        }
    }

    public static bool IsSafeId(string id) =>
        id.Length is > 0 and <= 100 && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');
}
