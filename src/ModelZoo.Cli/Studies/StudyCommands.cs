using System.CommandLine;

namespace ModelZoo.Cli.Studies;

/// <summary>
/// <c>modelzoo study run &lt;name&gt; [--seeds 1,2,3] [--only text] [--results docs/studies/&lt;name&gt;.jsonl] [--data-dir .data]
/// [--threads 0]</c> runs a study's missing runs and prints its table; <c>modelzoo study table &lt;name&gt;</c> prints the
/// table from the results file alone; <c>modelzoo study list</c> names the studies. Every number in docs/benchmarks.md's
/// study tables comes from these.
/// </summary>
public static class StudyCommands
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "A study (see `modelzoo study list`)." };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds.", DefaultValueFactory = _ => "1,2,3" };
        var only = new Option<string?>("--only") { Description = "Run only the arms whose 'group/arm/variant' contains this text." };
        var results = new Option<FileInfo?>("--results") { Description = "Results file (JSON lines); default docs/studies/<name>.jsonl." };
        var dataDir = new Option<DirectoryInfo>("--data-dir") { Description = "The portal's data folder (Storage:DataDir).", DefaultValueFactory = _ => new DirectoryInfo(".data") };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };

        var run = new Command("run", "Run a study's missing runs (results are appended as they finish), then print its table.") { name, seeds, only, results, dataDir, threads };
        run.SetAction(async (r, ct) =>
        {
            if (Resolve(r.GetRequiredValue(name), r.InvocationConfiguration.Error) is not { } study) return ExitCodes.BadInput;
            if (ParseSeeds(r.GetValue(seeds)!, r.InvocationConfiguration.Error) is not { } s) return ExitCodes.BadInput;
            var path = r.GetValue(results)?.FullName ?? DefaultResults(study.Name);
            using var context = new StudyContext(r.GetRequiredValue(dataDir).FullName, r.GetValue(threads));
            var all = await StudyRunner.RunAsync(study, context, s, path, r.GetValue(only), r.InvocationConfiguration.Output, ct);
            PrintTable(study, all, path, r.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        });

        var tableName = new Argument<string>("name") { Description = "A study." };
        var table = new Command("table", "Print a study's table from its results file.") { tableName, results };
        table.SetAction(r =>
        {
            if (Resolve(r.GetRequiredValue(tableName), r.InvocationConfiguration.Error) is not { } study) return ExitCodes.BadInput;
            var path = r.GetValue(results)?.FullName ?? DefaultResults(study.Name);
            PrintTable(study, StudyRunner.Read(path).Where(x => x.Study == study.Name).ToList(), path, r.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        });

        var list = new Command("list", "The studies and the question each answers.");
        list.SetAction(r =>
        {
            foreach (var s in Studies.All) r.InvocationConfiguration.Output.WriteLine($"{s.Name}: {s.Question}");
            return ExitCodes.Ok;
        });
        return new Command("study", "Reproducible studies: strategies compared over seeds, tables as in docs/benchmarks.md.") { run, table, list };
    }

    static string DefaultResults(string name) => Path.Combine("docs", "studies", $"{name}.jsonl");

    static Study? Resolve(string name, TextWriter error)
    {
        var s = Studies.Find(name);
        if (s is null) error.WriteLine($"error: no study '{name}'. Studies: {string.Join(", ", Studies.All.Select(x => x.Name))}.");
        return s;
    }

    static int[]? ParseSeeds(string text, TextWriter error)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var seeds = parts.Select(p => int.TryParse(p, out var v) && v >= 0 ? v : (int?)null).ToList();
        if (seeds.Count == 0 || seeds.Any(v => v is null)) { error.WriteLine($"error: --seeds takes non-negative whole numbers separated by commas, not '{text}'."); return null; }
        return seeds.Select(v => v!.Value).ToArray();
    }

    static void PrintTable(Study study, IReadOnlyList<StudyResult> results, string path, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"{study.Title}: test accuracy, mean ± std over seeds (n); results in {path}");
        output.WriteLine();
        output.Write(StudyTable.Render(study, results));
    }
}
