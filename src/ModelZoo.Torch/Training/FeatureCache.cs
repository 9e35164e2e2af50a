using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>Features of some examples, one row each, on the run's device.</summary>
public sealed class FeatureTable(Tensor features, IReadOnlyDictionary<int, int> rows) : IDisposable
{
    /// <summary>[rows, width] float32.</summary>
    public Tensor Features { get; } = features;
    /// <summary>Dataset index → row of <see cref="Features"/>.</summary>
    public IReadOnlyDictionary<int, int> Rows { get; } = rows;
    public int Width => (int)Features.shape[1];
    public void Dispose() => Features.Dispose();
}

/// <summary>How a run got its features: how many came from the cache and how many the backbone computed.</summary>
/// <param name="BackboneExamplesPerSecond">The backbone's throughput while computing (0 when nothing was computed).</param>
public sealed record FeatureCacheReport(string Key, int Reused, int Computed, double BackboneExamplesPerSecond, bool Persisted)
{
    /// <summary>The run's record of it: reused or computed, how fast, and where the cache lives.</summary>
    public string Describe()
    {
        var where = Persisted ? $"cache {Key}" : "computed in memory (no cache folder)";
        return Computed == 0
            ? $"all {Reused:N0} examples' features reused from an earlier run ({where}); the backbone did not run"
            : Reused > 0
                ? $"{Reused:N0} examples' features reused from an earlier run, {Computed:N0} computed ({BackboneExamplesPerSecond:N0} examples/s; {where})"
                : $"{Computed:N0} examples' features computed once ({BackboneExamplesPerSecond:N0} examples/s; {where})";
    }
}

/// <summary>
/// A frozen backbone's pooled features (the classifier's input), per example, cached on disk so the backbone runs
/// once per example across runs. The cache's key is the hash of the starting weights (or the seed of a random
/// initialisation), the architecture and its shape, and the batch source's fingerprint (the dataset's content and
/// the evaluation preprocessing). One folder per key holds <c>features.f32</c> (one row per example of the dataset,
/// little-endian float32), <c>present.u8</c> (one byte per example: row written) and <c>meta.json</c>. Rows a run
/// needs and the cache lacks are computed and written in place; the presence file is replaced only after the rows
/// are on disk, so a crash leaves rows unmarked rather than marked and missing.
/// </summary>
public static class FeatureCache
{
    const int BatchSize = 256;

    /// <summary>The key of a run's backbone and source.</summary>
    public static string Key(RunContext run, IBatchSource source)
    {
        var weights = run.Job.WeightsSha256 is { } sha ? $"sha256:{sha}" : $"random-init:seed{run.Training.Seed}";
        var m = run.Job.Model;
        var shape = $"{run.Architecture.Name}:pool{m.Head.PoolSize}:hidden{m.Head.Hidden}:config{Hash(run.Job.Text?.ConfigPath is { } c && File.Exists(c) ? File.ReadAllText(c) : "")}";
        return Hash($"{weights}|{shape}|{run.Job.Data.Info.Id}|{source.Fingerprint}")[..32];
    }

    /// <summary>The features of <paramref name="needed"/> (dataset indices), from the cache where it has them.</summary>
    public static FeatureTable Fetch(RunContext run, IBatchSource source, int[] needed, out FeatureCacheReport report)
    {
        var key = Key(run, source);
        var count = run.Job.Data.Images?.Count ?? run.Job.Data.Texts!.Count;
        var distinct = needed.Distinct().Order().ToArray();
        var dir = run.Job.FeatureCacheDir is { } root ? Path.Combine(root, key) : null;
        var store = dir is null ? null : Store.Open(dir, count);
        var missing = store is null ? distinct : distinct.Where(i => !store.Has(i)).ToArray();

        var rows = new float[distinct.Length][];
        var position = distinct.Select((idx, row) => (idx, row)).ToDictionary(x => x.idx, x => x.row);
        double rate = 0;
        if (missing.Length > 0)
        {
            var watch = Stopwatch.StartNew();
            var reported = Stopwatch.StartNew();
            run.Model.eval();
            using var _ = no_grad();
            using var batches = source.Eval(missing, BatchSize, run.Cancellation);
            int done = 0;
            for (int b = 0; b < batches.Count; b++)
            {
                run.Cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = batches.Next();
                var f = run.Model.ForwardHead(run.Model.ForwardFeatures(batch.X), preLogits: true).to(ScalarType.Float32).cpu().contiguous();
                int n = (int)f.shape[0], width = (int)f.shape[1];
                var flat = f.data<float>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    var row = flat.AsSpan(i * width, width).ToArray();
                    var idx = missing[done + i];
                    rows[position[idx]] = row;
                    store?.Write(idx, row);
                }
                done += n;
                if (reported.Elapsed.TotalSeconds >= 2 || done == missing.Length)
                {
                    run.Report($"Extracting features with the frozen backbone: {done:N0} of {missing.Length:N0} examples " +
                               $"({done / Math.Max(1e-9, watch.Elapsed.TotalSeconds):N0}/s){(distinct.Length > missing.Length ? $"; {distinct.Length - missing.Length:N0} from the cache" : "")}.");
                    reported.Restart();
                }
            }
            rate = missing.Length / Math.Max(1e-9, watch.Elapsed.TotalSeconds);
            store?.Commit();
        }
        if (store is not null)
            foreach (var idx in distinct.Where(i => rows[position[i]] is null)) rows[position[idx]] = store.Read(idx);

        var width0 = rows.Length == 0 ? 0 : rows[0].Length;
        var all = new float[(long)rows.Length * width0];
        for (int r = 0; r < rows.Length; r++) rows[r].CopyTo(all, (long)r * width0);
        var features = tensor(all, [rows.Length, width0], device: CPU).to(run.Device);
        report = new FeatureCacheReport(key, distinct.Length - missing.Length, missing.Length, rate, store is not null);
        return new FeatureTable(features, position);
    }

    static string Hash(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    /// <summary>One key's files on disk.</summary>
    sealed class Store
    {
        readonly string _dir;
        readonly byte[] _present;
        int _width;

        Store(string dir, byte[] present, int width) { _dir = dir; _present = present; _width = width; }

        string FeaturesFile => Path.Combine(_dir, "features.f32");
        string PresentFile => Path.Combine(_dir, "present.u8");
        string MetaFile => Path.Combine(_dir, "meta.json");

        public static Store Open(string dir, int count)
        {
            Directory.CreateDirectory(dir);
            var meta = Path.Combine(dir, "meta.json");
            var present = Path.Combine(dir, "present.u8");
            var features = Path.Combine(dir, "features.f32");
            try
            {
                if (File.Exists(meta) && File.Exists(present) && File.Exists(features))
                {
                    var m = JsonSerializer.Deserialize<Meta>(File.ReadAllText(meta));
                    var bits = File.ReadAllBytes(present);
                    if (m is not null && m.Count == count && bits.Length == count && m.Width > 0
                        && new FileInfo(features).Length == (long)count * m.Width * sizeof(float))
                        return new Store(dir, bits, m.Width);
                }
            }
            catch (JsonException) { }
            // Nothing usable: start over (a cache is never a reason to fail a run).
            foreach (var f in new[] { meta, present, features }) if (File.Exists(f)) File.Delete(f);
            return new Store(dir, new byte[count], 0);
        }

        public bool Has(int index) => _present[index] != 0;

        public void Write(int index, float[] row)
        {
            if (_width == 0)
            {
                _width = row.Length;
                using (var fs = new FileStream(FeaturesFile, FileMode.Create)) fs.SetLength((long)_present.Length * _width * sizeof(float));
                File.WriteAllText(MetaFile, JsonSerializer.Serialize(new Meta(_present.Length, _width)));
            }
            if (row.Length != _width) throw new InvalidOperationException($"Feature width changed from {_width} to {row.Length}.");
            using var handle = File.OpenHandle(FeaturesFile, FileMode.Open, FileAccess.Write);
            RandomAccess.Write(handle, System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()), (long)index * _width * sizeof(float));
            _present[index] = 2; // written, not yet committed
        }

        public void Commit()
        {
            using (var handle = File.OpenHandle(FeaturesFile, FileMode.Open, FileAccess.ReadWrite)) RandomAccess.FlushToDisk(handle);
            for (int i = 0; i < _present.Length; i++) if (_present[i] == 2) _present[i] = 1;
            var tmp = PresentFile + ".tmp";
            File.WriteAllBytes(tmp, _present);
            File.Move(tmp, PresentFile, overwrite: true);
        }

        public float[] Read(int index)
        {
            var row = new float[_width];
            using var handle = File.OpenHandle(FeaturesFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            RandomAccess.Read(handle, System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()), (long)index * _width * sizeof(float));
            return row;
        }

        sealed record Meta(int Count, int Width);
    }
}

/// <summary>
/// Batches of cached features with their labels, for a head that trains on features (no backbone). A batch is a
/// gather of table rows, microseconds of work, so it is made on the trainer's thread when the trainer asks for it
/// (<see cref="Prefetcher{T}"/> with no workers): a worker thread per epoch and a handoff per batch cost more than the
/// gather, and on a 2-core machine the worker took a core from the step's own threads. Each epoch's row numbers and
/// labels are looked up once; a batch is then one <c>index_select</c> of the features and its labels.
/// </summary>
public sealed class FeatureBatchSource : IBatchSource
{
    readonly FeatureTable _table;
    readonly int[] _labels;
    readonly Device _device;

    public FeatureBatchSource(FeatureTable table, int[] labels, Device device)
    {
        _table = table; _labels = labels; _device = device;
    }

    public string Fingerprint => $"features:{_table.Rows.Count}x{_table.Width}";

    public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) => Stream(order, batchSize, ct);

    public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) => Stream(indices, batchSize, ct);

    Prefetcher<TrainingBatch> Stream(int[] indices, int batchSize, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int batches = (indices.Length + batchSize - 1) / batchSize;
        var rowNumbers = new long[indices.Length];
        var labels = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            rowNumbers[i] = _table.Rows[indices[i]];
            labels[i] = _labels[indices[i]];
        }
        return new Prefetcher<TrainingBatch>(batches, (b, _) =>
        {
            int start = b * batchSize, end = Math.Min(indices.Length, start + batchSize);
            using var scope = NewDisposeScope();
            var x = _table.Features.index_select(0, tensor(rowNumbers[start..end], device: CPU).to(_device));
            var y = tensor(labels[start..end], device: CPU).to(_device);
            // Detached, not moved to the outer scope: made on the caller's thread, inside whatever scope it has open,
            // the batch still belongs to its holder alone, as batches made on a worker thread do.
            return new TrainingBatch(x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
        }, workers: 0, depth: 1, ct);
    }

    public void Dispose() { }
}
