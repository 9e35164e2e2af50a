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

    /// <summary>The smallest budget a user may set. Below it the memory glibc keeps after libtorch frees (tens of MiB
    /// whatever the budget) is as large as the budget itself: at 64 MiB one streaming run in five went over, at 128
    /// and 256 MiB none did (docs/benchmarks.md). Code that builds options directly (tests, benchmarks) may go lower.</summary>
    public const long MinimumMemoryBudgetBytes = 128L << 20;

    /// <summary>Settings as the configuration gave them, refused with the setting's name and the reason when they
    /// cannot be honoured, so the portal fails at start-up rather than in the middle of a run.</summary>
    public static PipelineOptions Validated(PipelineOptions o)
    {
        if (o.MemoryBudgetBytes < MinimumMemoryBudgetBytes)
            throw new InvalidOperationException(
                $"{Section}:MemoryBudgetBytes is {o.MemoryBudgetBytes:N0} bytes; the minimum is {MinimumMemoryBudgetBytes:N0} (128 MiB). Below it the " +
                "allocator's own retained memory is comparable to the budget, so the budget could not be kept (docs/benchmarks.md).");
        if (o.Workers < 0) throw new InvalidOperationException($"{Section}:Workers is {o.Workers}; use 0 (half the cores) or a positive count.");
        if (o.Prefetch < 1) throw new InvalidOperationException($"{Section}:Prefetch is {o.Prefetch}; at least 1 batch is prepared ahead.");
        return o;
    }
}
