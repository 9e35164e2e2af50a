using Microsoft.ML.OnnxRuntime;
using ModelZoo.Core.Text;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>
/// The imported minilm_l6 and arctic_embed_xs compute what their packages' ONNX files compute in ONNX Runtime: the same
/// token ids (the embedded vocab.txt through the project's WordPiece tokenizer), attention mask and token types through
/// both, the last hidden state (and MiniLM's pooled output) compared as torch.testing.assert_close compares.
/// </summary>
public sealed class OnnxBertParityTests(SentenceEncoderFiles files, ITestOutputHelper output) : IClassFixture<SentenceEncoderFiles>
{
    /// <summary>
    /// Hidden states are LayerNorm outputs (within about ±10) after six layers of two fp32 implementations (libtorch's
    /// fused scaled-dot-product attention and oneDNN matmuls; ONNX Runtime's MLAS, with the graph's explicit softmax and
    /// its -10000 mask bias against the module's dtype minimum). Measured on the 2-core AMD EPYC development machine:
    /// see the test output and docs/weights.md. The test allows atol = rtol = 1e-4 for other CPUs' kernels; a wrong key,
    /// an untransposed weight or a swapped query and key errs by orders of magnitude more.
    /// </summary>
    const double Atol = 1e-4, Rtol = 1e-4;

    /// <summary>Of different lengths, so the batch is padded and the mask matters; one has accents and capitals, one a
    /// word split into pieces.</summary>
    static readonly string[] Texts =
    [
        "The quick brown fox jumps over the lazy dog.",
        "ModelZoo imports sentence encoders from NuGet packages, weight for weight: Zürich, naïve café, unbelievably!",
        "Hi",
    ];

    [Theory]
    [InlineData("minilm_l6")]
    [InlineData("arctic_embed_xs")]
    public void ImportedEncoder_MatchesOnnxRuntime_OnTheSameTokens(string arch)
    {
        var package = files[arch];
        // Both vocabularies are uncased: no piece holds an ASCII capital except the five bracketed specials.
        package.Vocabulary.Count(t => t.Any(c => c is >= 'A' and <= 'Z') && !t.StartsWith('[')).ShouldBe(0);
        var tokenizer = WordPieceTokenizer.FromTokens(package.Vocabulary, lowercase: true);
        var encodings = tokenizer.EncodeBatch(Texts, maxLength: 128);
        int batch = encodings.Count, length = encodings[0].Length;
        long[] Flat(Func<TextEncoding, int[]> field) => [.. encodings.SelectMany(e => field(e).Select(v => (long)v))];
        long[] ids = Flat(e => e.InputIds), mask = Flat(e => e.AttentionMask), types = Flat(e => e.TokenTypeIds);
        long[] shape = [batch, length];
        mask.Count(m => m == 0).ShouldBeGreaterThan(0, "the batch is padded");

        float[] hiddenExpected;
        float[]? pooledExpected = null;
        using (var session = new InferenceSession(package.ModelBytes))
        using (var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape))
        using (var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape))
        using (var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape))
        using (var options = new RunOptions())
        {
            session.InputNames.ShouldBe(["input_ids", "attention_mask", "token_type_ids"]);
            using var results = session.Run(options, ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], session.OutputNames);
            results[0].GetTensorTypeAndShape().Shape.ShouldBe([batch, length, 384L]);
            hiddenExpected = results[0].GetTensorDataAsSpan<float>().ToArray();
            if (results.Count > 1) pooledExpected = results[1].GetTensorDataAsSpan<float>().ToArray();
        }

        using var scope = NewDisposeScope();
        using var model = (BertModel)ArchitectureRegistry.Default.Create(arch);
        OnnxImporter.Import(package.Read(), model);
        model.eval();
        Tensor hidden, pooled;
        using (no_grad())
        {
            hidden = model.Encode(tensor(ids, shape, device: CPU), tensor(mask, shape, device: CPU), tensor(types, shape, device: CPU));
            pooled = model.Pool(hidden);
        }

        var expected = tensor(hiddenExpected, [batch, length, 384], device: CPU);
        var closeness = Closeness.Measure(hidden, expected, Atol, Rtol);
        var real = tensor(mask, shape, device: CPU).to(ScalarType.Bool).unsqueeze(-1).expand_as(hidden);
        output.WriteLine($"{arch} vs ONNX Runtime, last hidden state [{batch}, {length}, 384] ({mask.Count(m => m == 1)} tokens, {mask.Count(m => m == 0)} padding): {closeness}; " +
                         $"values in [{hidden.min().item<float>():G4}, {hidden.max().item<float>():G4}]; " +
                         $"on real tokens only: {Closeness.Measure(hidden.masked_select(real), expected.masked_select(real), Atol, Rtol)}; " +
                         $"at torch's float32 defaults: {Closeness.Measure(hidden, expected, Closeness.Float32Atol, Closeness.Float32Rtol)}");
        closeness.Passed.ShouldBeTrue(closeness.ToString());

        (pooledExpected is not null).ShouldBe(model.HasPooler, "the file has a pooled output exactly when the variant has a pooler");
        if (pooledExpected is null) return;
        var pooledCloseness = Closeness.Measure(pooled, tensor(pooledExpected, [batch, 384], device: CPU), Atol, Rtol);
        output.WriteLine($"{arch} vs ONNX Runtime, pooled output [{batch}, 384]: {pooledCloseness}; " +
                         $"at torch's float32 defaults: {Closeness.Measure(pooled, tensor(pooledExpected, [batch, 384], device: CPU), Closeness.Float32Atol, Closeness.Float32Rtol)}");
        pooledCloseness.Passed.ShouldBeTrue(pooledCloseness.ToString());
    }
}
