namespace ModelZoo.Core.Runs.Queue;

/// <summary>
/// What the queue view shows: runs of these statuses (empty: all), of one model, dataset, strategy or experiment, or only
/// resumed ones. It round-trips through the URL's query (<see cref="Parse"/>, <see cref="ToQuery"/>) so a filtered
/// view can be shared as a link, and <c>GET /api/queue</c> takes the same parameters.
/// </summary>
/// <remarks>A transferability sweep is an experiment too (<see cref="RunView.ExperimentId"/>); links made before
/// experiments existed say <c>sweep=</c>, which the API and the page still read as <c>experiment=</c>.</remarks>
public sealed record QueueFilter
{
    public IReadOnlySet<RunStatus> Statuses { get; init; } = new HashSet<RunStatus>();
    public string? ModelId { get; init; }
    public string? DatasetId { get; init; }
    public string? Strategy { get; init; }
    public Guid? ExperimentId { get; init; }
    public bool ResumedOnly { get; init; }

    public static QueueFilter All { get; } = new();

    public bool Matches(RunView r) =>
        (Statuses.Count == 0 || Statuses.Contains(r.Status))
        && (ModelId is null || r.ModelId == ModelId)
        && (DatasetId is null || r.DatasetId == DatasetId)
        && (Strategy is null || r.Strategy == Strategy)
        && (ExperimentId is null || r.ExperimentId == ExperimentId)
        && (!ResumedOnly || r.Resumes > 0);

    /// <summary>Reads the query's values; <paramref name="status"/> is comma-separated. An unknown status or a
    /// malformed experiment id is an error, not silently "everything": a shared link that shows more than it says misleads.</summary>
    public static QueueFilterParse Parse(string? status, string? model, string? dataset, string? strategy, string? experiment, bool? resumed)
    {
        var statuses = new HashSet<RunStatus>();
        foreach (var s in (status ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<RunStatus>(s, ignoreCase: true, out var st) || !Enum.IsDefined(st) || int.TryParse(s, out _))
                return new(null, $"Unknown status '{s}': use {string.Join(", ", Enum.GetNames<RunStatus>().Select(n => n.ToLowerInvariant()))}.");
            statuses.Add(st);
        }
        Guid? experimentId = null;
        if (!string.IsNullOrWhiteSpace(experiment))
        {
            if (!Guid.TryParse(experiment, out var g)) return new(null, $"'{experiment}' is not an experiment id.");
            experimentId = g;
        }
        return new(new QueueFilter
        {
            Statuses = statuses, ModelId = Blank(model), DatasetId = Blank(dataset), Strategy = Blank(strategy),
            ExperimentId = experimentId, ResumedOnly = resumed == true,
        }, null);
    }

    /// <summary>The query string (without '?') that <see cref="Parse"/> reads back to this filter; empty for no filter.</summary>
    public string ToQuery()
    {
        var parts = new List<string>();
        if (Statuses.Count > 0) parts.Add("status=" + string.Join(",", Statuses.Order().Select(s => s.ToString().ToLowerInvariant())));
        if (ModelId is not null) parts.Add("model=" + Uri.EscapeDataString(ModelId));
        if (DatasetId is not null) parts.Add("dataset=" + Uri.EscapeDataString(DatasetId));
        if (Strategy is not null) parts.Add("strategy=" + Uri.EscapeDataString(Strategy));
        if (ExperimentId is { } g) parts.Add("experiment=" + g);
        if (ResumedOnly) parts.Add("resumed=true");
        return string.Join("&", parts);
    }

    static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}

/// <summary>A parsed filter, or why the query could not be read.</summary>
public sealed record QueueFilterParse(QueueFilter? Filter, string? Error)
{
    public bool Ok => Filter is not null;
}
