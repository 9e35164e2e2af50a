using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx.Export;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>
/// Every registered architecture, exported to ONNX and run in ONNX Runtime, computes what the TorchSharp module computes
/// in eval mode: the same inputs through both at batch 1 and batch 3 (one session, so the batch is really symbolic; text
/// also at two sequence lengths), compared as torch.testing.assert_close compares. Small shapes keep it fast: 64 px
/// images, 5 classes, VGG's head adapted (hidden 64, pool 3, so the adaptive pool is a real 2x2 -> 3x3 resampling), a
/// 2-layer BERT; minilm_l6 and arctic_embed_xs have their fixed shapes. BatchNorm statistics and affine parameters and
/// LayerNorm parameters are drawn at random, since at their initial values (0, 1) a swapped mean and variance or a
/// missing affine would go unnoticed.
/// </summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class OnnxExportParityTests(ITestOutputHelper output)
{
    /// <summary>The tolerances of the importer's parity tests (OnnxResNetParityTests, OnnxBertParityTests): two fp32
    /// implementations (libtorch's oneDNN and fused attention, ONNX Runtime's MLAS) sum in different orders; a wrong key,
    /// padding, BatchNorm field, activation or transposition errs by orders of magnitude more.</summary>
    const double Atol = 1e-4, Rtol = 1e-4;
    const int ImageSize = 64, Classes = 5;

    const string TinyBertJson = """
        { "vocab_size": 120, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
          "max_position_embeddings": 40, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0 }
        """;

    public static TheoryData<string> Architectures()
    {
        var d = new TheoryData<string>();
        foreach (var a in ArchitectureRegistry.Default.All) d.Add(a.Name);
        return d;
    }

    internal static ZooModel Build(string arch)
    {
        var info = ArchitectureRegistry.Default.Get(arch);
        var options = info switch
        {
            { Modality: Modality.Image, AdaptableHead: true } => new ArchitectureOptions(Classes, HeadPoolSize: 3, HeadHidden: 64),
            { Modality: Modality.Image } => new ArchitectureOptions(Classes),
            _ when Bert.Variants.ContainsKey(arch) => new ArchitectureOptions(Classes),
            _ => new ArchitectureOptions(3, ConfigJson: TinyBertJson),
        };
        var model = ArchitectureRegistry.Default.Create(arch, options);
        Randomise(model);
        model.eval();
        return model;
    }

    /// <summary>
    /// Non-trivial normalisation parameters everywhere (see the class summary), and linear layers of unit gain
    /// (std 1/√in): the architectures' own init (N(0, 0.01) for VGG and MobileNet heads, 0.02 for BERT) leaves logits
    /// near 1e-5, where atol alone would pass anything. BatchNorm scales stay below 1 so that 50 residual blocks of
    /// ResNet-152 do not blow the logits up to where rtol alone would.
    /// </summary>
    static void Randomise(ZooModel model)
    {
        using var _ = no_grad();
        foreach (var m in model.modules())
        {
            switch (m)
            {
                case BatchNorm2d b:
                    b.running_mean!.copy_(randn_like(b.running_mean) * 0.1);
                    b.running_var!.copy_(rand_like(b.running_var) + 0.5);
                    b.weight!.copy_(rand_like(b.weight) * 0.5 + 0.25);
                    b.bias!.copy_(randn_like(b.bias) * 0.1);
                    break;
                case Linear l:
                    l.weight!.copy_(randn_like(l.weight) / Math.Sqrt(l.weight.shape[1]));
                    l.bias?.copy_(randn_like(l.bias) * 0.1);
                    break;
                case LayerNorm n:
                    n.weight!.copy_(rand_like(n.weight) + 0.5);
                    n.bias!.copy_(randn_like(n.bias) * 0.1);
                    break;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ExportedArchitecture_MatchesTorchSharp_InOnnxRuntime_AtBatch1And3(string arch)
    {
        manual_seed(20261207);
        using var model = Build(arch);
        var started = DateTime.UtcNow;
        var proto = OnnxExporter.Export(model, new OnnxExportOptions(ImageSize));
        using var session = new InferenceSession(proto.ToByteArray());
        var exportSeconds = (DateTime.UtcNow - started).TotalSeconds;

        var batchDim = session.InputMetadata.First().Value;
        batchDim.Dimensions[0].ShouldBe(-1, "the batch is symbolic");
        batchDim.SymbolicDimensions[0].ShouldBe(OnnxExporter.Batch);

        var shapes = model is Bert ? new[] { (1, 7), (3, 11) } : [(1, 0), (3, 0)];
        foreach (var (batch, length) in shapes)
        {
            var results = model is Bert bert ? CompareText(bert, session, batch, length) : CompareImage(model, session, batch);
            foreach (var (name, closeness, range) in results)
            {
                output.WriteLine($"{arch} {name} batch {batch}{(length > 0 ? $" sequence {length}" : "")}: {closeness}; values within ±{range:G3} (export + session {exportSeconds:F1} s)");
                closeness.Passed.ShouldBeTrue($"{arch} {name} at batch {batch}: {closeness}");
            }
        }
    }

    static List<(string, Closeness, double)> CompareImage(ZooModel model, InferenceSession session, int batch)
    {
        using var scope = NewDisposeScope();
        var x = randn(batch, 3, ImageSize, ImageSize);
        Tensor expected;
        using (no_grad()) expected = model.call(x);
        var data = x.data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, [batch, 3, ImageSize, ImageSize]);
        using var options = new RunOptions();
        using var results = session.Run(options, [OnnxExporter.ImageInput], [input], [OnnxExporter.LogitsOutput]);
        var actual = FromOrt(results[0]);
        return [("logits", Closeness.Measure(actual, expected, Atol, Rtol), Range(expected))];
    }

    static List<(string, Closeness, double)> CompareText(Bert model, InferenceSession session, int batch, int length)
    {
        using var scope = NewDisposeScope();
        var vocab = model.Config.VocabSize;
        var ids = randint(1, vocab, [batch, length], dtype: ScalarType.Int64);
        // Row r keeps its first length - 2r tokens: every row but the first is padded, so the mask matters.
        var mask = ones(batch, length, dtype: ScalarType.Int64);
        for (int r = 1; r < batch; r++) mask[r, TensorIndex.Slice(length - 2 * r)] = 0;
        var types = randint(0, 2, [batch, length], dtype: ScalarType.Int64);
        long[] shape = [batch, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids.data<long>().ToArray(), shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask.data<long>().ToArray(), shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types.data<long>().ToArray(), shape);
        using var options = new RunOptions();
        using var results = session.Run(options, [OnnxExporter.InputIds, OnnxExporter.AttentionMask, OnnxExporter.TokenTypeIds],
            [idsValue, maskValue, typesValue], session.OutputNames);

        var closeness = new List<(string, Closeness, double)>();
        using var _ = no_grad();
        if (model is BertModel encoder)
        {
            var hidden = encoder.Encode(ids, mask, types);
            var pooled = encoder.Pool(hidden);
            closeness.Add((OnnxExporter.LastHiddenState, Closeness.Measure(FromOrt(results[0]), hidden, Atol, Rtol), Range(hidden)));
            closeness.Add((OnnxExporter.PoolerOutput, Closeness.Measure(FromOrt(results[1]), pooled, Atol, Rtol), Range(pooled)));
        }
        else
        {
            session.OutputNames.ShouldBe([OnnxExporter.LogitsOutput]);
            var logits = model.ForwardText(ids, mask, types);
            closeness.Add((OnnxExporter.LogitsOutput, Closeness.Measure(FromOrt(results[0]), logits, Atol, Rtol), Range(logits)));
        }
        return closeness;
    }

    static double Range(Tensor t) => t.abs().max().item<float>();

    static Tensor FromOrt(OrtValue v) => tensor(v.GetTensorDataAsSpan<float>().ToArray(), v.GetTensorTypeAndShape().Shape);

    [Fact]
    public void ExportedInitialisers_AreTheStateDict_UnderItsKeys()
    {
        manual_seed(7);
        foreach (var arch in new[] { "resnet50", "mobilenet_v3_small", "bert_mlm" })
        {
            using var model = Build(arch);
            var proto = OnnxExporter.Export(model);
            var initialisers = proto.Graph.Initializer.Where(t => !t.Name.StartsWith("const_", StringComparison.Ordinal)).ToDictionary(t => t.Name);
            // num_batches_tracked only counts training steps; the MLM decoder is the word-embedding matrix, stored once.
            var keys = model.state_dict().Keys.Where(k => !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
            initialisers.Keys.Order().ShouldBe(keys.Order(), arch);
            foreach (var (key, value) in model.state_dict().Where(kv => initialisers.ContainsKey(kv.Key)))
            {
                var t = initialisers[key];
                t.Dims.ToArray().ShouldBe(value.shape, key);
                using var stored = tensor(MemoryMarshalFloats(t.RawData), value.shape);
                stored.eq(value.detach().cpu()).all().item<bool>().ShouldBeTrue(key);
            }
        }
    }

    static float[] MemoryMarshalFloats(ByteString raw) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw.Span).ToArray();

    [Fact]
    public void Export_RecordsPreprocessingLabelsAndOpset_InTheModel()
    {
        using var model = Build("resnet18");
        var pre = new Preprocessing { InputSize = 224, ResizeSize = 256, Mean = [0.485, 0.456, 0.406], Std = [0.229, 0.224, 0.225] };
        string[] labels = ["cat", "dog", "fox", "owl", "yak"];
        var proto = OnnxExporter.Export(model, new OnnxExportOptions(ImageSize, labels, pre, Metadata: new Dictionary<string, string> { ["modelzoo.run"] = "r1" }));
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        proto.OpsetImport.Single().Version.ShouldBe(OnnxExporter.Opset);
        meta["labels"].ShouldBe("""["cat","dog","fox","owl","yak"]""");
        meta["mean"].ShouldBe("[0.485,0.456,0.406]");
        meta["std"].ShouldBe("[0.229,0.224,0.225]");
        meta["input_size"].ShouldBe("64");
        meta["resize_size"].ShouldBe("73");
        meta["channel_order"].ShouldBe("RGB");
        meta["modelzoo.architecture"].ShouldBe("resnet18");
        meta["modelzoo.run"].ShouldBe("r1");

        using var session = new InferenceSession(proto.ToByteArray());
        session.ModelMetadata.CustomMetadataMap["labels"].ShouldBe(meta["labels"]);
    }

    [Fact]
    public void Export_RefusesLabels_ThatDoNotMatchTheClassifier()
    {
        using var model = Build("mobilenet_v2");
        var e = Should.Throw<OnnxExportException>(() => OnnxExporter.Export(model, new OnnxExportOptions(Labels: ["a", "b"])));
        e.Message.ShouldContain("2 labels given for a model with 5 outputs");
    }

    [Fact]
    public void Export_RefusesAModelItCannotWalk_NamingIt()
    {
        using var model = new Unknown();
        var e = Should.Throw<OnnxExportException>(() => OnnxExporter.Export(model));
        e.Message.ShouldContain("unknown_net cannot be exported to ONNX");
        e.Message.ShouldContain("Unknown is none of them");
    }

    sealed class Unknown : ZooModel
    {
        public Unknown() : base("Unknown") => RegisterComponents();
        public override string Architecture => "unknown_net";
        public override int NumFeatures => 1;
        public override int NumClasses => 1;
        public override string ClassifierPrefix => "fc";
        protected override IReadOnlyList<(string Stage, string[] Prefixes)> StagePrefixes => [];
        public override Tensor ForwardFeatures(Tensor x) => x;
        public override Tensor ForwardHead(Tensor features, bool preLogits = false) => features;
        public override void ResetClassifier(int numClasses) { }
    }
}
