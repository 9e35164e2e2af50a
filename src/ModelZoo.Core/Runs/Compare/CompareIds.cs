namespace ModelZoo.Core.Runs.Compare;

/// <summary>The <c>ids</c> of a compare request (page and API alike): comma-separated run ids, duplicates dropped,
/// order kept, at most <see cref="MaxRuns"/>.</summary>
public sealed record CompareIds(IReadOnlyList<Guid> Ids, string? Error)
{
    /// <summary>Fifty runs of a hundred epochs is the size the compare page is built and measured for.</summary>
    public const int MaxRuns = 50;

    public bool Ok => Error is null;

    public static CompareIds Parse(string? ids)
    {
        var parts = (ids ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) return new([], "Choose runs to compare: ids=<run id>,<run id>,…");
        var bad = parts.Where(p => !Guid.TryParse(p, out _)).ToList();
        if (bad.Count > 0)
            return new([], $"Not a run id: {string.Join(", ", bad.Take(5).Select(b => b.Length > 40 ? b[..40] + "…" : b))}{(bad.Count > 5 ? $" and {bad.Count - 5} more" : "")}.");
        var list = parts.Select(Guid.Parse).Distinct().ToList();
        if (list.Count > MaxRuns)
            return new([], $"{list.Count} runs asked for; a comparison takes at most {MaxRuns}. Compare fewer runs at a time.");
        return new(list, null);
    }
}
