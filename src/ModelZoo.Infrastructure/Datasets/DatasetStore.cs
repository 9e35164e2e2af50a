using System.Collections.Concurrent;
using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Datasets on disk, one folder each under <c>&lt;DataDir&gt;/datasets/&lt;id&gt;</c>: <c>dataset.json</c> (facts),
/// <c>images.u8</c> (N x C x H x W bytes), <c>labels.u8</c>, <c>splits.json</c>. A folder appears only complete:
/// writers build in a temp folder and rename it into place.
/// </summary>
public sealed class DatasetStore(ZooPaths paths) : IDatasetCatalog
{
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
        var pixels = File.ReadAllBytes(Path.Combine(dir, "images.u8"));
        var labels = File.ReadAllBytes(Path.Combine(dir, "labels.u8")).Select(b => (int)b).ToArray();
        var split = JsonSerializer.Deserialize<SplitIndices>(File.ReadAllText(Path.Combine(dir, "splits.json")), Json)!;
        var images = new ImageSet
        {
            Width = info.Width, Height = info.Height, Channels = info.Channels,
            Pixels = pixels, Labels = labels, ClassNames = info.ClassNames,
        };
        if (pixels.Length != (long)images.ImageBytes * labels.Length)
            throw new InvalidDataException($"Dataset '{id}' is inconsistent: {pixels.Length} pixel bytes for {labels.Length} labels.");
        return new LoadedDataset(info, images, split);
    }

    DatasetInfo? TryReadInfo(string id)
    {
        var f = Path.Combine(FolderOf(id), "dataset.json");
        if (!File.Exists(f)) return null;
        try { return JsonSerializer.Deserialize<DatasetInfo>(File.ReadAllText(f), Json); }
        catch (JsonException) { return null; }
    }

    /// <summary>Writes a complete dataset atomically: a temp folder, then one rename.</summary>
    public void Write(DatasetInfo info, ImageSet images, SplitIndices split)
    {
        if (!IsSafeId(info.Id)) throw new ArgumentException($"Invalid dataset id '{info.Id}'.");
        var tmp = Directory.CreateDirectory(Path.Combine(paths.DatasetsDir, $".tmp-{info.Id}-{Guid.NewGuid():N}"));
        try
        {
            File.WriteAllBytes(Path.Combine(tmp.FullName, "images.u8"), images.Pixels);
            File.WriteAllBytes(Path.Combine(tmp.FullName, "labels.u8"), images.Labels.Select(l => checked((byte)l)).ToArray());
            File.WriteAllText(Path.Combine(tmp.FullName, "splits.json"), JsonSerializer.Serialize(split, Json));
            File.WriteAllText(Path.Combine(tmp.FullName, "dataset.json"), JsonSerializer.Serialize(info, Json));
            var final = FolderOf(info.Id);
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(tmp.FullName, final);
            _loaded.TryRemove(info.Id, out _);
        }
        catch
        {
            if (tmp.Exists) tmp.Delete(recursive: true);
            throw;
        }
    }

    static bool IsSafeId(string id) =>
        id.Length is > 0 and <= 100 && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');
}
