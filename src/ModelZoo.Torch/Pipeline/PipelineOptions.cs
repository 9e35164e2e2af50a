namespace ModelZoo.Torch.Pipeline;

/// <summary>Settings of the image input pipeline (section <c>Pipeline</c>).</summary>
public sealed class PipelineOptions
{
    public const string Section = "Pipeline";

    /// <summary>Threads that read, crop, augment and batch images ahead of the training step. 0 = half the cores
    /// (at least 1, at most 8): the training step's own intra-op threads need the rest.</summary>
    public int Workers { get; set; }

    /// <summary>Batches prepared ahead of the one the trainer holds. The memory budget may lower it.</summary>
    public int Prefetch { get; set; } = 4;

    /// <summary>Bytes the pipeline may hold for a dataset: an images file larger than this is streamed from disk
    /// instead of read into memory, and batches in flight are limited to fit. 1 GiB by default. Budgets of 128 MiB and
    /// more held in every measured run; at 64 MiB glibc's retained free blocks (tens of MiB whatever the budget) put
    /// one run in five over it (docs/benchmarks.md).</summary>
    public long MemoryBudgetBytes { get; set; } = 1L << 30;

    /// <summary>Where resized images are cached. Empty: a <c>cache</c> folder inside the dataset's own folder, so
    /// deleting or replacing the dataset removes its caches; for in-memory sets without a file, the temp folder.</summary>
    public string CacheDir { get; set; } = "";

    public int ResolvedWorkers => Workers > 0 ? Workers : Math.Clamp(Environment.ProcessorCount / 2, 1, 8);
}
