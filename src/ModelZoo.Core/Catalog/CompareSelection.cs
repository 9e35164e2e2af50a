namespace ModelZoo.Core.Catalog;

/// <summary>
/// The models of <c>/compare?ids=a,b,c</c>: 2 to 6 known catalogue ids, in the order given, duplicates dropped.
/// More than six columns no longer fit side by side, and one model is not a comparison.
/// </summary>
public sealed record CompareSelection(IReadOnlyList<string> Ids, string? Error)
{
    public const int Min = 2, Max = 6;

    public bool Ok => Error is null;

    public static CompareSelection Parse(string? ids, Func<string, bool> exists)
    {
        var list = (ids ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Distinct(StringComparer.Ordinal).ToList();
        if (list.Count < Min)
            return new(list, $"Choose at least {Min} models to compare (got {list.Count}). Tick 2–6 rows in the catalogue and press Compare.");
        if (list.Count > Max)
            return new(list, $"Compare at most {Max} models at a time (got {list.Count}).");
        var unknown = list.Where(id => !exists(id)).ToList();
        if (unknown.Count > 0)
            return new(list, $"Not in the catalogue: {string.Join(", ", unknown)}.");
        return new(list, null);
    }

    public static string Link(IEnumerable<string> ids) => "/compare?ids=" + string.Join(',', ids.Select(Uri.EscapeDataString));
}
