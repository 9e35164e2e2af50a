using System.CommandLine;
using System.Globalization;
using ModelZoo.Torch.Benchmarks;

namespace ModelZoo.Cli.Benchmarks;

/// <summary>
/// <c>modelzoo bench fewshot [--arch resnet18] [--size 32] [--ways 5] [--shots 5] [--queries 15] [--rounds 5]
/// [--threads 2]</c>: one few-shot episode end to end (pipeline, frozen backbone, prototype and linear-head scoring),
/// the first one and the median of the later ones (<see cref="FewShotBenchmark"/>).
/// </summary>
public static class FewShotBenchCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { DefaultValueFactory = _ => "resnet18" };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 32 };
        var ways = new Option<int>("--ways") { DefaultValueFactory = _ => 5 };
        var shots = new Option<int>("--shots") { DefaultValueFactory = _ => 5 };
        var queries = new Option<int>("--queries") { DefaultValueFactory = _ => 15 };
        var rounds = new Option<int>("--rounds") { Description = "Timed episodes after the first.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("fewshot", "Time one N-way K-shot episode end to end on a frozen image backbone.")
        {
            arch, size, ways, shots, queries, rounds, threads,
        };
        command.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            var spec = new FewShotBenchSpec(r.GetValue(arch)!, r.GetValue(size), r.GetValue(ways), r.GetValue(shots), r.GetValue(queries), r.GetValue(rounds), r.GetValue(threads));
            FewShotBenchResult res;
            try { res = FewShotBenchmark.Run(spec); }
            catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException)
            {
                r.InvocationConfiguration.Error.WriteLine($"error: {ex.Message}");
                return ExitCodes.BadInput;
            }
            var inv = CultureInfo.InvariantCulture;
            o.WriteLine($"{spec.Architecture}, {spec.Size}x{spec.Size}, {spec.Ways}-way {spec.Shots}-shot, {spec.Queries} queries per class " +
                        $"({res.ExamplesPerEpisode} images per episode), {spec.Threads} threads, {Environment.ProcessorCount} cores, " +
                        ModelZoo.Torch.Native.TorchRuntime.SoftwareVersions);
            o.WriteLine();
            o.WriteLine("| measure | ms |");
            o.WriteLine("| --- | --- |");
            o.WriteLine(string.Create(inv, $"| build the model (once) | {res.BuildMs:F0} |"));
            o.WriteLine(string.Create(inv, $"| first episode (kernel set-up included) | {res.FirstEpisodeMs:F0} |"));
            o.WriteLine(string.Create(inv, $"| episode, median of {res.EpisodeMs.Length} | {ModelBenchmark.Median(res.EpisodeMs):F0} |"));
            o.WriteLine(string.Create(inv, $"| of which embedding (pipeline + backbone), median | {ModelBenchmark.Median(res.EmbedMs):F0} |"));
            o.WriteLine(string.Create(inv, $"| of which nearest-prototype scoring, median | {ModelBenchmark.Median(res.PrototypeMs):F1} |"));
            o.WriteLine(string.Create(inv, $"| of which linear head (100 Adam steps + scoring), median | {ModelBenchmark.Median(res.LinearMs):F0} |"));
            o.WriteLine(string.Create(inv, $"| prototype episode (embedding + prototypes), median | {ModelBenchmark.Median(res.EmbedMs.Zip(res.PrototypeMs, (a, b) => a + b).ToArray()):F0} |"));
            o.WriteLine(string.Create(inv, $"| episodes, all | {string.Join(" ", res.EpisodeMs.Select(v => v.ToString("F0", inv)))} |"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
