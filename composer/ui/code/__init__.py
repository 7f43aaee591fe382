"""The code room: the Code tab (the payload as code), Copy as …, and Paste from code …."""
