using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR.Client;

namespace ModelZoo.Guides;

/// <summary>
/// Launch an experiment grid through the REST API, follow every run live over the SignalR hub, and print the grid
/// when the last run ends. Plain HTTP and JSON: nothing here needs ModelZoo's own assemblies.
/// </summary>
public static class FollowExperiment
{
    /// <param name="TrainLimit">Optional: at most this many training examples (for a quick try).</param>
    /// <param name="ImageSize">Optional: the side images are trained at (0 or null: the model's own).</param>
    /// <param name="Token">A personal API token (made at /account), sent as a bearer header to the API and the hub;
    /// null for a portal with accounts off.</param>
    public sealed record Options(Uri Portal, string Dataset, string[] Models, string[] Strategies, int[] Seeds, int Epochs,
        int? TrainLimit = null, int? ImageSize = null, string? Token = null);

    static readonly string[] Terminal = ["Succeeded", "Failed", "Cancelled"];

    public static async Task<int> RunAsync(Options o, TextWriter output, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = o.Portal };
        if (o.Token is { } token) http.DefaultRequestHeaders.Authorization = new("Bearer", token);

        // 1. Launch: one POST queues every run of the grid, or none (400 lists each problem under its field).
        var hyper = new JsonObject { ["epochs"] = o.Epochs };
        if (o.TrainLimit is { } limit) hyper["trainLimit"] = limit;
        if (o.ImageSize is { } size) hyper["imageSize"] = size;
        var request = new JsonObject
        {
            ["name"] = "Followed from the API guide",
            ["datasetId"] = o.Dataset,
            ["models"] = new JsonArray(o.Models.Select(m => (JsonNode)m).ToArray()),
            ["strategies"] = new JsonArray(o.Strategies.Select(s => (JsonNode)new JsonObject { ["id"] = s }).ToArray()),
            ["seeds"] = new JsonArray(o.Seeds.Select(s => (JsonNode)s).ToArray()),
            ["hyperParameters"] = hyper,
        };
        using var launched = await http.PostAsJsonAsync("/api/experiments", request, ct);
        if (!launched.IsSuccessStatusCode)
        {
            output.WriteLine($"refused ({(int)launched.StatusCode}): {await launched.Content.ReadAsStringAsync(ct)}");
            return 1;
        }
        var experiment = await launched.Content.ReadFromJsonAsync<JsonElement>(ct);
        var id = experiment.GetProperty("id").GetGuid();
        var runs = experiment.GetProperty("runs").EnumerateArray()
            .ToDictionary(r => r.GetProperty("id").GetGuid(), r => r.GetProperty("name").GetString() ?? "");
        output.WriteLine($"experiment {id}: {runs.Count} runs queued");

        // 2. Follow: join each run's group. Join returns the history so far, and events that arrive meanwhile are
        // sent too, so a run's events can come twice: drop repeats by (run, seq).
        var seen = new ConcurrentDictionary<(Guid, long), bool>();
        var finished = new ConcurrentDictionary<Guid, string>();
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new object();

        void Handle(JsonElement e)
        {
            var run = e.GetProperty("runId").GetGuid();
            if (!runs.ContainsKey(run) || !seen.TryAdd((run, e.GetProperty("seq").GetInt64()), true)) return;
            var name = runs[run];
            string? line = e.GetProperty("kind").GetString() switch
            {
                "Epoch" when e.GetProperty("epoch") is var ep && ep.ValueKind == JsonValueKind.Object =>
                    $"{name}: epoch {ep.GetProperty("epoch").GetInt32()}/{ep.GetProperty("epochs").GetInt32()}" +
                    (ep.GetProperty("values").TryGetProperty("val_acc", out var acc) && acc.ValueKind == JsonValueKind.Number
                        ? $", validation accuracy {acc.GetDouble().ToString("P2", CultureInfo.InvariantCulture)}" : ""),
                "Status" when e.GetProperty("status") is var st && st.ValueKind == JsonValueKind.Object =>
                    $"{name}: {st.GetProperty("status").GetString()?.ToLowerInvariant()}" +
                    (st.TryGetProperty("message", out var m) && m.GetString() is { Length: > 0 } text ? $" ({text})" : ""),
                _ => null,
            };
            lock (gate) if (line is not null) output.WriteLine(line);
            if (e.GetProperty("kind").GetString() == "Status" && e.GetProperty("status").GetProperty("status").GetString() is { } s
                && Terminal.Contains(s) && finished.TryAdd(run, s) && finished.Count == runs.Count)
                allDone.TrySetResult();
        }

        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(o.Portal, "/hubs/runs"), c => { if (o.Token is { } t) c.Headers["Authorization"] = $"Bearer {t}"; })
            .WithAutomaticReconnect().Build();
        hub.On<JsonElement>("RunEvent", Handle);
        await hub.StartAsync(ct);
        foreach (var run in runs.Keys)
            foreach (var e in (await hub.InvokeAsync<JsonElement>("Join", run, ct)).EnumerateArray())
                Handle(e);
        await allDone.Task.WaitAsync(ct);

        // 3. The grid: mean ± std of test accuracy over the seeds that succeeded, per model and strategy.
        var view = await http.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}", ct);
        var grid = view.GetProperty("grid");
        var columns = grid.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("label").GetString() ?? "").ToList();
        output.WriteLine();
        output.WriteLine($"| model | {string.Join(" | ", columns)} |");
        output.WriteLine($"| --- |{string.Concat(columns.Select(_ => " --- |"))}");
        var rows = grid.GetProperty("rows").EnumerateArray().Select(r => r.GetString() ?? "").ToList();
        var cells = grid.GetProperty("cells").EnumerateArray().ToList();
        for (var i = 0; i < rows.Count; i++)
            output.WriteLine($"| {rows[i]} | {string.Join(" | ", cells[i].EnumerateArray().Select(Cell))} |");
        return finished.Values.All(s => s == "Succeeded") ? 0 : 3;
    }

    static string Cell(JsonElement c)
    {
        var n = c.GetProperty("runs").EnumerateArray().Count(r => r.GetProperty("status").GetString() == "Succeeded");
        if (c.GetProperty("mean").ValueKind != JsonValueKind.Number) return $"– (n = {n})";
        var mean = c.GetProperty("mean").GetDouble() * 100;
        var std = c.GetProperty("std").ValueKind == JsonValueKind.Number ? c.GetProperty("std").GetDouble() * 100 : double.NaN;
        var text = double.IsFinite(std)
            ? string.Create(CultureInfo.InvariantCulture, $"{mean:F2} ± {std:F2} % (n = {n})")
            : string.Create(CultureInfo.InvariantCulture, $"{mean:F2} % (n = {n})");
        return c.GetProperty("best").GetBoolean() ? $"**{text}**" : text;
    }
}
