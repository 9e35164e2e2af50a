using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>
/// Datasets on disk, one folder each under <c>&lt;DataDir&gt;/datasets/&lt;id&gt;</c>: <c>dataset.json</c> (facts),
/// <c>images.u8</c> (N x C x H x W bytes) or, for a text dataset, <c>texts.jsonl</c> (one JSON string per line),
/// <c>labels.u8</c>, <c>splits.json</c>. A folder appears only complete:
/// writers build in a temp folder and rename it into place.
/// </summary>
/// <remarks>An images file larger than <see cref="PipelineOptions.MemoryBudgetBytes"/> is not read into memory: the
/// loaded set names the file and the image pipeline streams it.</remarks>
public sealed class DatasetStore(ZooPaths paths, PipelineOptions? pipeline = null) : IDatasetCatalog
{
    readonly long _inMemoryLimit = (pipeline ?? new PipelineOptions()).MemoryBudgetBytes;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    /// <summary>Loaded datasets, kept while their pixels (or texts) fit the memory budget together: each one under the
    /// budget fits alone, but a portal that has trained on or shown many would otherwise hold all of them.</summary>
    readonly LoadedCache _loaded = new((pipeline ?? new PipelineOptions()).MemoryBudgetBytes);
    /// <summary>Held while a dataset folder is renamed into place or away, and while its facts are rewritten, so an
    /// edit of the facts never writes old facts into a folder that was replaced meanwhile.</summary>
    readonly object _folderGate = new();

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
        return _loaded.Get(id, ReadAll);
    }

    LoadedDataset ReadAll(string id)
    {
        var dir = FolderOf(id);
        var info = TryReadInfo(id)!;
        var labels = File.ReadAllBytes(Path.Combine(dir, "labels.u8")).Select(b => (int)b).ToArray();
        var split = JsonSerializer.Deserialize<SplitIndices>(File.ReadAllText(Path.Combine(dir, "splits.json")), Json)!;
        if (info.Modality == DatasetModality.Text)
        {
            var texts = ReadTextsFile(Path.Combine(dir, TextsFile), id);
            if (texts.Count != labels.Length)
                throw new InvalidDataException($"Dataset '{id}' is inconsistent: {texts.Count} texts for {labels.Length} labels.");
            return new LoadedDataset(info, null, split) { Texts = new TextSet { Texts = texts, Labels = labels, ClassNames = info.ClassNames } };
        }
        var imagesFile = Path.Combine(dir, "images.u8");
        var stored = new FileInfo(imagesFile).Length;
        var pixels = stored > _inMemoryLimit ? [] : File.ReadAllBytes(imagesFile);
        var images = new ImageSet
        {
            Width = info.Width, Height = info.Height, Channels = info.Channels,
            Pixels = pixels, Labels = labels, ClassNames = info.ClassNames, PixelsFile = imagesFile,
        };
        if (stored != (long)images.ImageBytes * labels.Length)
            throw new InvalidDataException($"Dataset '{id}' is inconsistent: {stored} pixel bytes for {labels.Length} labels.");
        return new LoadedDataset(info, images, split);
    }

    /// <summary>The texts file of a text dataset: one JSON string per line (UTF-8), so a text may hold any character,
    /// newlines included, and the file stays readable with ordinary tools.</summary>
    public const string TextsFile = "texts.jsonl";

    // Non-ASCII letters stay as they are (readable, smaller); control characters, newlines included, are escaped.
    static readonly JsonSerializerOptions TextJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static List<string> ReadTextsFile(string path, string id)
    {
        var texts = new List<string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            lineNo++;
            try { texts.Add(JsonSerializer.Deserialize<string>(line) ?? throw new JsonException("null")); }
            catch (JsonException e) { throw new InvalidDataException($"Dataset '{id}': {TextsFile} line {lineNo} is not a JSON string ({e.Message}).", e); }
        }
        return texts;
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
        if (info.Modality != DatasetModality.Image) throw new InvalidOperationException($"Dataset '{id}' holds texts, not images.");
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
        lock (_folderGate)
        {
            if (!Directory.Exists(FolderOf(id))) return false;
            Directory.Move(FolderOf(id), doomed);
            _loaded.Remove(id);
        }
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

    /// <summary>Writes a complete dataset atomically: a temp folder, then one rename. The class counts and split
    /// sizes in the facts are taken from the labels and split written, so they cannot disagree.</summary>
    public DatasetInfo Write(DatasetInfo info, ImageSet images, SplitIndices split, bool replaceExisting = true)
    {
        if (images.Pixels.LongLength != (long)images.ImageBytes * images.Count)
            throw new ArgumentException($"{images.Pixels.LongLength} pixel bytes for {images.Count} images of {images.ImageBytes} bytes.");
        return WriteFolder(info with { Modality = DatasetModality.Image }, images.Labels, images.ClassNames.Count, split, replaceExisting,
            dir => File.WriteAllBytes(Path.Combine(dir, "images.u8"), images.Pixels));
    }

    /// <summary>Writes a complete text dataset atomically (<see cref="TextsFile"/> instead of <c>images.u8</c>). With
    /// <paramref name="replaceExisting"/> false (uploads) a dataset of the same id that appeared meanwhile, e.g. from an
    /// image upload under the same name, is kept and <see cref="DatasetExistsException"/> thrown.</summary>
    public DatasetInfo Write(DatasetInfo info, TextSet texts, SplitIndices split, bool replaceExisting = true)
    {
        if (texts.Texts.Count != texts.Labels.Length)
            throw new ArgumentException($"{texts.Texts.Count} texts for {texts.Labels.Length} labels.");
        return WriteFolder(info with { Modality = DatasetModality.Text, Width = 0, Height = 0, Channels = 0 }, texts.Labels, texts.ClassNames.Count, split, replaceExisting, dir =>
        {
            using var w = new StreamWriter(Path.Combine(dir, TextsFile), false, new System.Text.UTF8Encoding(false));
            // Newlines inside a text are escaped by JSON, so one line is one text.
            foreach (var t in texts.Texts) w.Write(JsonSerializer.Serialize(t ?? throw new ArgumentException("A text is null."), TextJson) + "\n");
        });
    }

    DatasetInfo WriteFolder(DatasetInfo info, int[] labels, int classCount, SplitIndices split, bool replaceExisting, Action<string> writeExamples)
    {
        if (!IsSafeId(info.Id)) throw new ArgumentException($"Invalid dataset id '{info.Id}'.");
        if (classCount > 256) throw new ArgumentException($"{classCount} classes; labels are stored as bytes (256 at most).");
        var counts = new int[classCount];
        foreach (var l in labels)
        {
            if ((uint)l >= counts.Length) throw new ArgumentException($"Label {l} is not one of the {counts.Length} classes.");
            counts[l]++;
        }
        if (split.Train.Concat(split.Validation).Concat(split.Test).Any(i => (uint)i >= labels.Length))
            throw new ArgumentException($"The split names an example outside 0..{labels.Length - 1}.");
        info = info with
        {
            ClassCounts = counts, TrainClassCounts = Core.Training.TrainingSelection.PerClass(split.Train, labels, classCount), Examples = labels.Length,
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
        };
        var tmp = Directory.CreateDirectory(Path.Combine(paths.DatasetsDir, $".tmp-{info.Id}-{Guid.NewGuid():N}"));
        try
        {
            writeExamples(tmp.FullName);
            File.WriteAllBytes(Path.Combine(tmp.FullName, "labels.u8"), labels.Select(l => checked((byte)l)).ToArray());
            File.WriteAllText(Path.Combine(tmp.FullName, "splits.json"), JsonSerializer.Serialize(split, Json));
            File.WriteAllText(Path.Combine(tmp.FullName, "dataset.json"), JsonSerializer.Serialize(info, Json));
            string? old = null;
            lock (_folderGate)
            {
                var final = FolderOf(info.Id);
                if (!replaceExisting)
                {
                    // rename(2) refuses a non-empty target, so of two concurrent writers exactly one wins.
                    try { Directory.Move(tmp.FullName, final); }
                    catch (IOException) when (Directory.Exists(final)) { throw new DatasetExistsException(info.Id); }
                }
                else if (Directory.Exists(final))
                {
                    old = Path.Combine(paths.DatasetsDir, $".tmp-replaced-{info.Id}-{Guid.NewGuid():N}");
                    Directory.Move(final, old);
                    Directory.Move(tmp.FullName, final);
                }
                else Directory.Move(tmp.FullName, final);
                _loaded.Remove(info.Id);
            }
            // Outside the gate: deleting a large images file takes a while and no longer concerns readers.
            if (old is not null) Directory.Delete(old, recursive: true);
            return info;
        }
        catch
        {
            if (tmp.Exists) tmp.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Replaces an image dataset's augmentation profile (built-ins too: which augmentations suit the data is a fact
    /// of the dataset, not of the code that fetched it) and returns the new facts. Only <c>dataset.json</c> changes,
    /// written to a temp file and renamed over the old one, so a reader sees the old facts or the new, never a part;
    /// the pixels, and with them the image pipeline's resize caches, stay valid. Runs already training keep the
    /// facts they loaded.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No dataset has this id.</exception>
    /// <exception cref="InvalidOperationException">The dataset holds texts, which have no image augmentations.</exception>
    /// <exception cref="AugmentationRejectedException">The profile is outside <see cref="AugmentationProfile.Validate"/>'s
    /// limits; nothing was written.</exception>
    public DatasetInfo UpdateAugmentation(string id, AugmentationProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.Validate() is { Count: > 0 } errors) throw new AugmentationRejectedException(errors);
        lock (_folderGate)
        {
            var info = Find(id) ?? throw new KeyNotFoundException($"Dataset '{id}' does not exist.");
            if (info.Modality != DatasetModality.Image)
                throw new InvalidOperationException($"Dataset '{id}' holds texts: image augmentations do not apply to it.");
            info = info with { Augmentation = profile };
            // In the datasets folder, not the dataset's: a crash's leftover is then removed at start-up with the others.
            var tmp = TempPath($"facts-{id}");
            try
            {
                File.WriteAllText(tmp, JsonSerializer.Serialize(info, Json));
                File.Move(tmp, Path.Combine(FolderOf(id), "dataset.json"), overwrite: true);
            }
            finally { File.Delete(tmp); }
            // The next load reads the new facts; pixels are read again too, a small price for an edit.
            _loaded.Remove(id);
            return info;
        }
    }

    public static bool IsSafeId(string id) =>
        id.Length is > 0 and <= 100 && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');
}

/// <summary>A dataset of this id exists already and the writer asked not to replace it.</summary>
public sealed class DatasetExistsException(string id) : IOException($"A dataset with the id '{id}' exists already.")
{
    public string Id { get; } = id;
}

/// <summary>
/// The loaded datasets of one store, least recently used first out once their in-memory bytes exceed the budget. The
/// dataset just asked for always stays (a run holds it anyway); an evicted one that a run still holds is freed when the
/// run ends, and read again from disk by the next caller.
/// </summary>
internal sealed class LoadedCache(long budgetBytes)
{
    sealed class Entry(Lazy<LoadedDataset> value)
    {
        public Lazy<LoadedDataset> Value { get; } = value;
        public long LastUsed;
        /// <summary>Set once the dataset is read (a text dataset's size is a sum over its texts: not redone per load).</summary>
        public long? Bytes;
    }

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    readonly object _gate = new();
    long _clock;

    public LoadedDataset Get(string id, Func<string, LoadedDataset> read)
    {
        Entry entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(id, out entry!))
                _entries[id] = entry = new Entry(new Lazy<LoadedDataset>(() => read(id)));
            entry.LastUsed = ++_clock;
        }
        LoadedDataset loaded;
        try { loaded = entry.Value.Value; } // read outside the lock: another dataset can load meanwhile
        catch
        {
            // A failed read is not remembered: the next caller reads again (the file may have been repaired).
            lock (_gate) if (_entries.TryGetValue(id, out var current) && current == entry) _entries.Remove(id);
            throw;
        }
        lock (_gate)
        {
            entry.Bytes ??= BytesOf(loaded);
            Evict(keep: id);
        }
        return loaded;
    }

    public void Remove(string id) { lock (_gate) _entries.Remove(id); }

    /// <summary>Drops the least recently used read datasets (never <paramref name="keep"/>, nor one still being read)
    /// until the rest fit the budget.</summary>
    void Evict(string keep)
    {
        long total = _entries.Values.Sum(e => e.Bytes ?? 0);
        foreach (var (id, e) in _entries.Where(e => e.Key != keep && e.Value.Bytes is not null).OrderBy(e => e.Value.LastUsed).ToList())
        {
            if (total <= budgetBytes) break;
            total -= e.Bytes!.Value;
            _entries.Remove(id);
        }
    }

    /// <summary>What a loaded dataset keeps in memory: its pixels, or its texts (UTF-16).</summary>
    static long BytesOf(LoadedDataset d) =>
        (d.Images?.Pixels.LongLength ?? 0) + (d.Texts?.Texts.Sum(t => 2L * t.Length) ?? 0);
}
