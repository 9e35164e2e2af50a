namespace ModelZoo.Infrastructure; public static class Placeholder {}
